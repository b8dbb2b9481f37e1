/**
 * Postgres access shared by gateway and signaling: one pool per process and the schema
 * migrations, applied at start under an advisory lock so concurrent starters do not race.
 */
import pg from 'pg';
import type { Logger } from '@switchboard/logger';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** Ordered migrations; never edit one that has shipped, append a new one. */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'rooms and participant sessions',
    sql: `
      CREATE TABLE rooms (
        name        text PRIMARY KEY,
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE participant_sessions (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        room_name     text NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
        peer_id       text NOT NULL UNIQUE,
        display_name  text NOT NULL,
        joined_at     timestamptz NOT NULL DEFAULT now(),
        left_at       timestamptz
      );
      CREATE INDEX participant_sessions_room ON participant_sessions (room_name, joined_at);
    `,
  },
  {
    version: 2,
    name: 'accounts, login sessions, room owners, policies and members',
    // Nothing here turns into a login when leaked: passwords are argon2id hashes, refresh tokens
    // are stored as SHA-256 digests of 256-bit random values.
    sql: `
      CREATE TABLE users (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email          text NOT NULL,
        password_hash  text NOT NULL,
        display_name   text NOT NULL,
        is_operator    boolean NOT NULL DEFAULT false,
        created_at     timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX users_email ON users (lower(email));

      CREATE TABLE refresh_tokens (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        family_id   uuid NOT NULL,
        user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash  bytea NOT NULL UNIQUE,
        created_at  timestamptz NOT NULL DEFAULT now(),
        expires_at  timestamptz NOT NULL,
        used_at     timestamptz,
        revoked_at  timestamptz
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

      ALTER TABLE rooms RENAME COLUMN name TO id;
      ALTER TABLE rooms ADD COLUMN name text;
      UPDATE rooms SET name = id;
      ALTER TABLE rooms ALTER COLUMN name SET NOT NULL;
      ALTER TABLE rooms ADD COLUMN owner_id uuid REFERENCES users(id) ON DELETE SET NULL;
      ALTER TABLE rooms ADD COLUMN policy text NOT NULL DEFAULT 'open'
        CHECK (policy IN ('open', 'lobby', 'locked'));
      CREATE INDEX rooms_owner ON rooms (owner_id, created_at DESC);

      CREATE TABLE room_members (
        room_id   text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        user_id   uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role      text NOT NULL CHECK (role IN ('host', 'participant')),
        added_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (room_id, user_id)
      );
      CREATE INDEX room_members_user ON room_members (user_id, added_at DESC);

      ALTER TABLE participant_sessions RENAME COLUMN room_name TO room_id;
      ALTER TABLE participant_sessions ADD COLUMN subject text;
      ALTER TABLE participant_sessions ADD COLUMN role text;
    `,
  },
  {
    version: 3,
    name: 'chat messages',
    // rooms.chat_rev counts a room's chat changes; taking the next one locks the room's row, so a
    // room's messages commit in sequence order. (room_id, client_id) makes a retried send a no-op.
    sql: `
      ALTER TABLE rooms ADD COLUMN chat_rev bigint NOT NULL DEFAULT 0;
      CREATE TABLE chat_messages (
        room_id         text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        seq             bigint NOT NULL,
        rev             bigint NOT NULL,
        client_id       uuid NOT NULL,
        sender_sub      text NOT NULL,
        sender_peer_id  text NOT NULL,
        sender_name     text NOT NULL,
        recipient_sub   text,
        recipient_peer_id text,
        recipient_name  text,
        body            text NOT NULL,
        sent_at         timestamptz NOT NULL DEFAULT now(),
        edited_at       timestamptz,
        deleted_at      timestamptz,
        search          tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED,
        PRIMARY KEY (room_id, seq),
        UNIQUE (room_id, client_id)
      );
      CREATE UNIQUE INDEX chat_messages_rev ON chat_messages (room_id, rev);
      CREATE INDEX chat_messages_search ON chat_messages USING GIN (search);
    `,
  },
  {
    version: 4,
    name: 'operator setup codes',
    // One-time codes that make a signed-in account an operator (a deployment starts with none);
    // only their SHA-256 digest is kept.
    sql: `
      CREATE TABLE operator_setup_codes (
        code_hash   bytea PRIMARY KEY,
        created_at  timestamptz NOT NULL DEFAULT now(),
        used_at     timestamptz,
        used_by     uuid REFERENCES users(id) ON DELETE SET NULL
      );
    `,
  },
  {
    version: 5,
    name: 'call analytics',
    // Written only by the analytics consumer of the event stream (services/events). A call is a
    // room's stretch of activity: rooms are not referenced, so deleting a room keeps its history.
    // analytics_events makes handling an event idempotent (its id is inserted in the same
    // transaction as its effects).
    sql: `
      CREATE TABLE analytics_events (
        event_id    text PRIMARY KEY,
        handled_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX analytics_events_handled ON analytics_events (handled_at);
      CREATE TABLE calls (
        id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        room_id               text NOT NULL,
        started_at            timestamptz NOT NULL,
        ended_at              timestamptz,
        current_participants  int NOT NULL DEFAULT 0,
        peak_participants     int NOT NULL DEFAULT 0
      );
      CREATE INDEX calls_room ON calls (room_id, started_at DESC);
      CREATE INDEX calls_started ON calls (started_at DESC);
      CREATE TABLE call_participants (
        call_id       uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
        peer_id       text NOT NULL,
        sub           text NOT NULL,
        display_name  text NOT NULL,
        role          text NOT NULL,
        joined_at     timestamptz NOT NULL,
        left_at       timestamptz,
        left_reason   text,
        removed       boolean NOT NULL DEFAULT false,
        PRIMARY KEY (call_id, peer_id)
      );
      CREATE INDEX call_participants_peer ON call_participants (peer_id);
      CREATE TABLE call_quality_samples (
        event_id      text PRIMARY KEY,
        call_id       uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
        peer_id       text NOT NULL,
        sampled_at    timestamptz NOT NULL,
        bitrate_kbps  real NOT NULL,
        loss_percent  real NOT NULL,
        rtt_ms        real,
        jitter_ms     real,
        score         real
      );
      CREATE INDEX call_quality_samples_call ON call_quality_samples (call_id, peer_id, sampled_at);
    `,
  },
  {
    version: 6,
    name: 'API keys, rooms by age',
    // Only a SHA-256 of each secret is kept (the secrets are 256 random bits: a slow hash adds
    // nothing); a leaked table lets no one call the API. Revoked keys stay for the audit trail.
    sql: `
      CREATE TABLE api_keys (
        id            text PRIMARY KEY,
        name          text NOT NULL,
        secret_hash   bytea NOT NULL,
        scopes        text[] NOT NULL,
        created_by    uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        last_used_at  timestamptz,
        revoked_at    timestamptz
      );
      CREATE INDEX rooms_created ON rooms (created_at DESC, id DESC);
    `,
  },
  {
    version: 7,
    name: 'webhooks',
    // Endpoints operators register, and one delivery per (endpoint, event): the unique key makes
    // fanning an event out idempotent. The secret is kept as is (it signs every delivery).
    sql: `
      CREATE TABLE webhook_endpoints (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        url             text NOT NULL,
        events          text[] NOT NULL,
        secret          text NOT NULL,
        allow_internal  boolean NOT NULL DEFAULT false,
        description     text NOT NULL DEFAULT '',
        created_by      uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE webhook_deliveries (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        endpoint_id       uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_id          text NOT NULL,
        event_type        text NOT NULL,
        room_id           text,
        event_time        timestamptz NOT NULL,
        body              text NOT NULL,
        status            text NOT NULL DEFAULT 'pending',
        attempts          int NOT NULL DEFAULT 0,
        next_attempt_at   timestamptz NOT NULL DEFAULT now(),
        lease_until       timestamptz,
        last_error        text,
        last_status_code  int,
        created_at        timestamptz NOT NULL DEFAULT now(),
        delivered_at      timestamptz,
        UNIQUE (endpoint_id, event_id)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
      CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at DESC);
    `,
  },
  {
    version: 8,
    name: 'private rooms',
    // Rooms only invited tokens join (the server API's, the matchmaker's).
    sql: `
      ALTER TABLE rooms DROP CONSTRAINT IF EXISTS rooms_policy_check;
      ALTER TABLE rooms ADD CONSTRAINT rooms_policy_check
        CHECK (policy IN ('open', 'lobby', 'locked', 'private'));
    `,
  },
  {
    version: 9,
    name: 'match reports',
    // Meet someone: what a person reported of whom they were matched with (the moderation list).
    // Identities are `user:<id>` or `guest:<id>`; the reported address is kept for exclusions.
    sql: `
      CREATE TABLE match_reports (
        id               bigserial PRIMARY KEY,
        match_id         text NOT NULL,
        reporter         text NOT NULL,
        reported         text NOT NULL,
        reason           text NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        UNIQUE (match_id, reporter)
      );
      CREATE INDEX match_reports_reported ON match_reports (reported, created_at DESC);
      CREATE INDEX match_reports_created ON match_reports (created_at DESC);
    `,
  },
  {
    version: 10,
    name: 'match exclusions: who is kept out of Meet someone, until when',
    // Written by signaling's Matchmaker (automatic, after reports from several people) and by
    // operators (lift, extend). An exclusion covers its identity and, when known, its address.
    sql: `
      ALTER TABLE match_reports ADD COLUMN reporter_address text, ADD COLUMN reported_address text;
      CREATE INDEX match_reports_address ON match_reports (reported_address, created_at DESC)
        WHERE reported_address IS NOT NULL;
      CREATE TABLE match_exclusions (
        id          bigserial PRIMARY KEY,
        identity    text NOT NULL,
        address     text,
        reason      text NOT NULL,
        created_by  text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        until       timestamptz NOT NULL,
        lifted_at   timestamptz,
        lifted_by   text
      );
      CREATE INDEX match_exclusions_identity ON match_exclusions (identity, until DESC);
      CREATE INDEX match_exclusions_address ON match_exclusions (address, until DESC)
        WHERE address IS NOT NULL;
    `,
  },
];

/** Runs `work` in a transaction on one client: COMMIT when it returns, ROLLBACK when it throws. */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

const LOCK_KEY = 0x5b0a4d; // arbitrary, constant: "switchboard migrations"

export function createPool(
  connectionString: string,
  options: { max?: number; connectionTimeoutMillis?: number } = {},
): Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 10_000,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

export async function migrate(pool: Pool, logger: Logger): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    let count = 0;
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) {
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      logger.info({ version: migration.version, migration: migration.name }, 'applied migration');
      count++;
    }
    return count;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    client.release();
  }
}

/** Creates the database named in the URL if it does not exist (connects to `postgres` to do it). */
export async function ensureDatabase(connectionString: string): Promise<void> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) {
    return;
  }
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    }
  } catch (error) {
    // Two starters racing to create it: the loser sees a duplicate; that is fine.
    if ((error as { code?: string }).code !== '42P04' && (error as { code?: string }).code !== '23505') {
      throw error;
    }
  } finally {
    await client.end();
  }
}

export { newRoomId, RoomStore, type RoomRecord } from './RoomStore';
export { MatchReportStore, type MatchReportRecord } from './MatchReportStore';
export { MatchExclusionStore, type ExclusionPolicy, type MatchExclusionRecord } from './MatchExclusionStore';
export { ChatStore, type ChatReader } from './ChatStore';
export {
  WebhookStore,
  type WebhookDelivery,
  type WebhookEndpoint,
  type DeliveryStatus,
} from './WebhookStore';
export {
  API_KEY_ID,
  API_SCOPES,
  ApiKeyStore,
  parseApiKey,
  type ApiKeyRecord,
  type ApiScope,
} from './ApiKeyStore';
export {
  CallStore,
  type CallSummary,
  type CallDetail,
  type CallParticipant,
  type Percentiles,
  type QualityPoint,
} from './CallStore';
