/**
 * Accounts and login sessions. Passwords are argon2id hashes (OWASP's minimum: 19 MiB, 2 passes,
 * 1 lane). A login session is a family of refresh tokens: each refresh spends the presented token
 * and issues the next one; presenting a spent token again means it was stolen, so the whole family
 * is revoked. Refresh tokens are 256-bit random values stored only as SHA-256 digests. Access
 * tokens are short-lived JWTs; a revoked session's id is remembered in Redis for their lifetime so
 * logging out takes effect at once.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import type { Redis } from 'ioredis';
import { withTransaction, type Pool, type PoolClient } from '@switchboard/db';
import { authenticateSession, revokeSession, signAccessToken, type AccessClaims } from '@switchboard/auth';
import { AppError, UnauthenticatedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import type { LoginThrottle } from './LoginThrottle';
import type { OperatorSetup } from './OperatorSetup';

/** OWASP Password Storage Cheat Sheet, argon2id minimum configuration. */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19 * 1024,
  timeCost: 2,
  parallelism: 1,
} as const;

export interface User {
  id: string;
  email: string;
  displayName: string;
  operator: boolean;
}

interface UserRow {
  id: string;
  email: string;
  display_name: string;
  is_operator: boolean;
  password_hash: string;
}

export interface SessionTokens {
  user: User;
  accessToken: string;
  accessExpiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
}

export interface AccountsOptions {
  pool: Pool;
  redis: Redis;
  secret: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  operatorEmails: string[];
  throttle: LoginThrottle;
  setup: OperatorSetup;
  logger: Logger;
}

/** How long a just-spent refresh token still works when nobody refreshed since (tabs racing). */
const REFRESH_GRACE_MS = 10_000;
const digest = (token: string) => createHash('sha256').update(token).digest();

export class Accounts {
  readonly #o: AccountsOptions;
  /** Verified against when the email is unknown, so a miss costs as much time as a wrong password. */
  readonly #dummyHash: Promise<string>;

  constructor(options: AccountsOptions) {
    this.#o = options;
    this.#dummyHash = argon2.hash(randomBytes(16).toString('hex'), ARGON2_OPTIONS);
  }

  /**
   * Creates an account and signs it in. A listed email is an operator; nobody else becomes one by
   * registering (the first operator presents the setup code: OperatorSetup).
   */
  async register(input: { email: string; password: string; displayName: string }): Promise<SessionTokens> {
    const hash = await argon2.hash(input.password, ARGON2_OPTIONS);
    const user = await withTransaction(this.#o.pool, async (client) => {
      try {
        const { rows } = await client.query<UserRow>(
          `INSERT INTO users (email, password_hash, display_name, is_operator) VALUES ($1, $2, $3, $4)
           RETURNING id, email, display_name, is_operator, password_hash`,
          [input.email, hash, input.displayName, this.#listedOperator(input.email)],
        );
        return rows[0];
      } catch (error) {
        if ((error as { code?: string }).code === '23505') {
          throw new AppError('ALREADY_EXISTS', 'an account with this email already exists; sign in instead');
        }
        throw error;
      }
    });
    this.#o.logger.info({ userId: user.id, operator: user.is_operator }, 'account created');
    return this.#startSession(this.#user(user));
  }

  /**
   * Makes the signed-in account an operator with a one-time setup code, and starts a new session
   * (its access token says so); the old session ends.
   */
  async becomeOperator(claims: AccessClaims, code: string): Promise<SessionTokens> {
    const row = await withTransaction(this.#o.pool, async (client) => {
      await this.#o.setup.consume(client, code, claims.userId);
      await client.query('UPDATE users SET is_operator = true WHERE id = $1', [claims.userId]);
      return this.#userById(client, claims.userId);
    });
    this.#o.setup.spent();
    await this.logout(undefined, claims.sessionId);
    this.#o.logger.warn({ userId: claims.userId }, 'an account became operator with the setup code');
    return this.#startSession(row);
  }

  /** Checks the password (each attempt counted first, with progressive back-off) and signs in. */
  async login(input: { email: string; password: string }, ip: string): Promise<SessionTokens> {
    const attempt = await this.#o.throttle.attempt(input.email, ip);
    const { rows } = await this.#o.pool.query<UserRow>(
      'SELECT id, email, display_name, is_operator, password_hash FROM users WHERE lower(email) = $1',
      [input.email],
    );
    const row = rows[0];
    const ok = await argon2.verify(row?.password_hash ?? (await this.#dummyHash), input.password);
    if (!row || !ok) {
      throw this.#o.throttle.failed(attempt) ?? new UnauthenticatedError('wrong email or password');
    }
    await this.#o.throttle.succeeded(input.email, ip);
    if (argon2.needsRehash(row.password_hash, ARGON2_OPTIONS)) {
      const hash = await argon2.hash(input.password, ARGON2_OPTIONS);
      await this.#o.pool.query('UPDATE users SET password_hash = $2 WHERE id = $1', [row.id, hash]);
    }
    return this.#startSession(this.#user(row));
  }

  /**
   * Spends a refresh token for a new pair; a spent token presented again revokes its family, but
   * for a short grace after it was spent while nobody has refreshed since (two tabs, or a lost
   * answer, refreshing with the same cookie at once): it gets a pair of its own.
   */
  async refresh(refreshToken: string | undefined): Promise<SessionTokens> {
    if (!refreshToken) {
      throw new UnauthenticatedError('not signed in (no refresh token)');
    }
    type Outcome =
      | { ok: false; error: string; reusedFamily?: { familyId: string; userId: string } }
      | { ok: true; user: User; familyId: string; next: { token: string; expiresAt: Date } };
    const outcome = await withTransaction(this.#o.pool, async (client): Promise<Outcome> => {
      const { rows } = await client.query<{
        id: string;
        family_id: string;
        user_id: string;
        expires_at: Date;
        used_at: Date | null;
        revoked_at: Date | null;
      }>(
        `SELECT id, family_id, user_id, expires_at, used_at, revoked_at FROM refresh_tokens
          WHERE token_hash = $1 FOR UPDATE`,
        [digest(refreshToken)],
      );
      const token = rows[0];
      if (!token) {
        return { ok: false, error: 'refresh token is invalid; sign in again' };
      }
      if (token.revoked_at) {
        return { ok: false, error: 'this session has ended; sign in again' };
      }
      if (token.used_at && !(await this.#inGrace(client, token.id, token.family_id, token.used_at))) {
        await this.#revokeFamily(client, token.family_id);
        return {
          ok: false,
          error: 'refresh token was already used; this session is revoked, sign in again',
          reusedFamily: { familyId: token.family_id, userId: token.user_id },
        };
      }
      if (token.expires_at.getTime() <= Date.now()) {
        return { ok: false, error: 'this session expired; sign in again' };
      }
      if (!token.used_at) {
        await client.query('UPDATE refresh_tokens SET used_at = now() WHERE id = $1', [token.id]);
      }
      const user = await this.#userById(client, token.user_id);
      const next = await this.#issueRefresh(client, user.id, token.family_id);
      return { ok: true, user, familyId: token.family_id, next };
    });
    if (!outcome.ok) {
      if (outcome.reusedFamily) {
        await this.#markRevoked(outcome.reusedFamily.familyId);
        this.#o.logger.warn(
          { userId: outcome.reusedFamily.userId, sessionId: outcome.reusedFamily.familyId },
          'refresh token reused: session revoked',
        );
      }
      throw new UnauthenticatedError(outcome.error);
    }
    return this.#tokens(outcome.user, outcome.familyId, outcome.next);
  }

  /** Revokes the session the refresh token (or access token's session) belongs to. */
  async logout(refreshToken: string | undefined, sessionId: string | undefined): Promise<void> {
    let familyId = sessionId;
    if (refreshToken) {
      const { rows } = await this.#o.pool.query<{ family_id: string }>(
        'SELECT family_id FROM refresh_tokens WHERE token_hash = $1',
        [digest(refreshToken)],
      );
      familyId = rows[0]?.family_id ?? familyId;
    }
    if (!familyId) {
      return;
    }
    await this.#o.pool.query(
      'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
      [familyId],
    );
    await this.#markRevoked(familyId);
  }

  /** The signed-in user an access token names, unless its session was revoked. */
  async authenticate(accessToken: string): Promise<AccessClaims> {
    return authenticateSession(this.#o.redis, accessToken, this.#o.secret);
  }

  async me(userId: string): Promise<User> {
    const client = await this.#o.pool.connect();
    try {
      return await this.#userById(client, userId);
    } finally {
      client.release();
    }
  }

  async #startSession(user: User): Promise<SessionTokens> {
    const familyId = randomUUID();
    const next = await withTransaction(this.#o.pool, (client) =>
      this.#issueRefresh(client, user.id, familyId),
    );
    return this.#tokens(user, familyId, next);
  }

  async #tokens(
    user: User,
    familyId: string,
    refresh: { token: string; expiresAt: Date },
  ): Promise<SessionTokens> {
    const access = await signAccessToken(
      { userId: user.id, displayName: user.displayName, operator: user.operator, sessionId: familyId },
      this.#o.secret,
      this.#o.accessTtlSeconds,
    );
    return {
      user,
      accessToken: access.token,
      accessExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
      refreshExpiresAt: refresh.expiresAt,
    };
  }

  /**
   * Whether a token spent at `usedAt` may be presented again: within REFRESH_GRACE_MS of being
   * spent, and no token of its family was spent after it (the session has not moved on).
   */
  async #inGrace(client: PoolClient, tokenId: string, familyId: string, usedAt: Date): Promise<boolean> {
    if (Date.now() - usedAt.getTime() > REFRESH_GRACE_MS) {
      return false;
    }
    // Compared in SQL (microseconds), not through a JavaScript Date (milliseconds).
    const { rows } = await client.query<{ later: number }>(
      `SELECT count(*)::int AS later FROM refresh_tokens
        WHERE family_id = $1 AND used_at > (SELECT used_at FROM refresh_tokens WHERE id = $2)`,
      [familyId, tokenId],
    );
    return rows[0].later === 0;
  }

  async #issueRefresh(
    client: PoolClient,
    userId: string,
    familyId: string,
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.#o.refreshTtlSeconds * 1000);
    await client.query(
      'INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)',
      [familyId, userId, digest(token), expiresAt],
    );
    return { token, expiresAt };
  }

  async #revokeFamily(client: PoolClient, familyId: string): Promise<void> {
    await client.query(
      'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
      [familyId],
    );
  }

  /** Access tokens of a revoked session stop working now, not when they expire. */
  async #markRevoked(familyId: string): Promise<void> {
    await revokeSession(this.#o.redis, familyId, this.#o.accessTtlSeconds + 5);
  }

  async #userById(client: PoolClient, id: string): Promise<User> {
    const { rows } = await client.query<UserRow>(
      'SELECT id, email, display_name, is_operator, password_hash FROM users WHERE id = $1',
      [id],
    );
    if (!rows[0]) {
      throw new UnauthenticatedError('this account no longer exists');
    }
    return this.#user(rows[0]);
  }

  #user(row: UserRow): User {
    return {
      id: row.id,
      email: row.email,
      displayName: row.display_name,
      operator: row.is_operator || this.#listedOperator(row.email),
    };
  }

  #listedOperator(email: string): boolean {
    return this.#o.operatorEmails.includes(email.toLowerCase());
  }
}
