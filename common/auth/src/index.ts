/**
 * The platform's two JWTs, both HS256 with JWT_SECRET, each pinned to its own audience so one can
 * never stand in for the other:
 * - join tokens: the gateway grants one identity (user or guest) a role in one room; signaling
 *   checks them on the socket handshake;
 * - access tokens: a signed-in user's short-lived (≤ 15 min) API credential, renewed with the
 *   refresh token the gateway keeps (hashed) in Postgres.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { z } from 'zod';
import { UnauthenticatedError } from '@switchboard/errors';
import { displayNameSchema, roomIdSchema, roleSchema, type JoinGrants } from '@switchboard/protocol';
import { verifyHs256 } from './jwt';

const ISSUER = 'switchboard-gateway';
const JOIN_AUDIENCE = 'switchboard-signaling';
const ACCESS_AUDIENCE = 'switchboard-api';
/** The longest an access token may live (the issue's "≤ 15 min"). */
export const MAX_ACCESS_TTL_SECONDS = 15 * 60;

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

async function sign(
  claims: JWTPayload,
  opts: { secret: string; audience: string; subject: string; ttlSeconds: number },
): Promise<{ token: string; expiresAt: Date; jti: string }> {
  const now = Math.floor(Date.now() / 1000);
  const jti = randomUUID();
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(opts.audience)
    .setSubject(opts.subject)
    .setJti(jti)
    .setIssuedAt(now)
    .setExpirationTime(now + opts.ttlSeconds)
    .sign(key(opts.secret));
  return { token, expiresAt: new Date((now + opts.ttlSeconds) * 1000), jti };
}

/** Verifies signature (HS256 only), issuer, audience, expiry (required) and subject/jti presence. */
async function verify(token: unknown, secret: string, audience: string, what: string): Promise<JWTPayload> {
  if (typeof token !== 'string' || token.length === 0) {
    throw new UnauthenticatedError(`a ${what} is required`);
  }
  return verifyHs256(
    token,
    key(secret),
    { issuer: ISSUER, audience, requiredClaims: ['exp', 'sub', 'jti'] },
    what,
  );
}

const joinClaimsSchema = z.object({
  room: roomIdSchema,
  sub: z.string().min(1).max(80),
  jti: z.string().min(1).max(80),
  exp: z.number(),
  name: displayNameSchema,
  role: roleSchema,
  canPublish: z.boolean(),
  canSubscribe: z.boolean(),
});

/** A verified join token: the grants plus the token's id and expiry (seconds since epoch). */
export interface JoinTokenClaims extends JoinGrants {
  jti: string;
  exp: number;
}

export async function signJoinToken(
  grants: JoinGrants,
  secret: string,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: Date; jti: string }> {
  const { sub, ...claims } = grants;
  return sign(claims, { secret, audience: JOIN_AUDIENCE, subject: sub, ttlSeconds });
}

/** Verifies a join token; throws UnauthenticatedError saying why. */
export async function verifyJoinToken(token: unknown, secret: string): Promise<JoinTokenClaims> {
  const payload = await verify(token, secret, JOIN_AUDIENCE, 'join token');
  const parsed = joinClaimsSchema.safeParse(payload);
  if (!parsed.success) {
    throw new UnauthenticatedError('join token has invalid grants');
  }
  return parsed.data;
}

/** What an access token says about its user. */
export interface AccessClaims {
  userId: string;
  displayName: string;
  operator: boolean;
  /** The refresh-token family (login session) it belongs to. */
  sessionId: string;
}

const accessClaimsSchema = z.object({
  sub: z.string().uuid(),
  name: displayNameSchema,
  op: z.boolean(),
  sid: z.string().uuid(),
});

export async function signAccessToken(
  claims: AccessClaims,
  secret: string,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: Date }> {
  if (ttlSeconds > MAX_ACCESS_TTL_SECONDS) {
    throw new RangeError(`access tokens live at most ${MAX_ACCESS_TTL_SECONDS} s`);
  }
  return sign(
    { name: claims.displayName, op: claims.operator, sid: claims.sessionId },
    { secret, audience: ACCESS_AUDIENCE, subject: claims.userId, ttlSeconds },
  );
}

export async function verifyAccessToken(token: unknown, secret: string): Promise<AccessClaims> {
  const payload = await verify(token, secret, ACCESS_AUDIENCE, 'access token');
  const parsed = accessClaimsSchema.safeParse(payload);
  if (!parsed.success) {
    throw new UnauthenticatedError('access token is invalid');
  }
  return {
    userId: parsed.data.sub,
    displayName: parsed.data.name,
    operator: parsed.data.op,
    sessionId: parsed.data.sid,
  };
}

export { recordAdmission, wasAdmitted, type AdmissionStore } from './admissions';
export { identityKeys, recordRemoval, wasRemoved, type Identity, type RemovalStore } from './removals';
export {
  AUTHORIZATION_METADATA,
  MAX_SERVICE_TOKEN_SECONDS,
  MEDIA_AUDIENCE,
  ServiceCredentials,
  ServiceTokenVerifier,
  signServiceToken,
} from './serviceTokens';
export { ACCESS_COOKIE, authenticateSession, revokeSession, type SessionStore } from './sessions';
