/**
 * API keys of the server API (switchboard.rooms.v1): created by operators, each with the scopes
 * it may use; the secret is shown once and only its SHA-256 is kept. A key is presented as
 * `<id>:<secret>`; revoking takes effect on the next call (every call looks the key up).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';

/** What a key may do; each RoomService method names the one it needs (proto option `scope`). */
export const API_SCOPES = [
  'rooms:read',
  'rooms:write',
  'participants:write',
  'tokens:create',
  'nodes:read',
  'nodes:write',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: ApiScope[];
  createdBy: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  scopes: ApiScope[];
  created_by: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, name, scopes, created_by, created_at, last_used_at, revoked_at';

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    createdBy: row.created_by,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** An API key's id: `sbk_` and 16 base32 characters. */
export const API_KEY_ID = /^sbk_[a-z2-7]{16}$/;
/** `<id>:<secret>` as the Authorization header carries it after `Bearer `. */
const PRESENTED = /^(sbk_[a-z2-7]{16}):([A-Za-z0-9_-]{43})$/;

/** The id and secret of a presented key, or undefined when it cannot be one of ours. */
export function parseApiKey(presented: string): { id: string; secret: string } | undefined {
  const match = PRESENTED.exec(presented);
  return match ? { id: match[1], secret: match[2] } : undefined;
}

const hash = (secret: string) => createHash('sha256').update(secret).digest();

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `sbk_` and 16 base32 characters (80 random bits: an id, not a secret). */
function newKeyId(): string {
  return `sbk_${Array.from(randomBytes(16), (byte) => BASE32[byte & 31]).join('')}`;
}

export class ApiKeyStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** A new key; `key` (`<id>:<secret>`) is returned this once and never again. */
  async create(opts: {
    name: string;
    scopes: ApiScope[];
    createdBy: string | null;
  }): Promise<{ record: ApiKeyRecord; key: string }> {
    const id = newKeyId();
    const secret = randomBytes(32).toString('base64url');
    const { rows } = await this.#pool.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, name, secret_hash, scopes, created_by) VALUES ($1, $2, $3, $4, $5)
       RETURNING ${COLUMNS}`,
      [id, opts.name, hash(secret), [...new Set(opts.scopes)].sort(), opts.createdBy],
    );
    return { record: toRecord(rows[0]), key: `${id}:${secret}` };
  }

  /** Every key, revoked ones too, newest first. */
  async list(): Promise<ApiKeyRecord[]> {
    const { rows } = await this.#pool.query<ApiKeyRow>(
      `SELECT ${COLUMNS} FROM api_keys ORDER BY created_at DESC, id`,
    );
    return rows.map(toRecord);
  }

  /** Revokes a key (once; false when there is no such key or it already was). */
  async revoke(id: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL',
      [id],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * The live key `presented` (`<id>:<secret>`) is, or undefined (malformed, unknown, wrong
   * secret, revoked). Marks it used (at most once a minute per key).
   */
  async verify(presented: string): Promise<ApiKeyRecord | undefined> {
    const parsed = parseApiKey(presented);
    if (!parsed) {
      return undefined;
    }
    const { rows } = await this.#pool.query<ApiKeyRow & { secret_hash: Buffer }>(
      `SELECT ${COLUMNS}, secret_hash FROM api_keys WHERE id = $1`,
      [parsed.id],
    );
    const row = rows[0];
    if (!row || row.revoked_at || !timingSafeEqual(row.secret_hash, hash(parsed.secret))) {
      return undefined;
    }
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
      await this.#pool.query(
        `UPDATE api_keys SET last_used_at = now()
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [row.id],
      );
    }
    return toRecord(row);
  }
}
