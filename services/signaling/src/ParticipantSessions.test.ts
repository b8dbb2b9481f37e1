/**
 * ParticipantSessions against the real Postgres: thousands of departures at once (an instance
 * shutting down) are all recorded, through a pool far smaller than their number whose callers
 * give up waiting after 300 ms, as signaling's gives up after 5 s.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, ensureDatabase, migrate, type Pool } from '@switchboard/db';
import { createLogger } from '@switchboard/logger';
import { ensureRoom, testDatabaseUrl, uniqueRoom } from '@switchboard/testing';
import { ParticipantSessions } from './ParticipantSessions';

describe('ParticipantSessions (real Postgres)', () => {
  let pool: Pool;

  beforeAll(async () => {
    await ensureDatabase(testDatabaseUrl());
    const setup = createPool(testDatabaseUrl());
    await migrate(setup, createLogger({ service: 'test', stdout: false }).logger);
    await setup.end();
    pool = createPool(testDatabaseUrl(), { max: 2, connectionTimeoutMillis: 300 });
  });

  afterAll(async () => {
    await pool?.end();
  });

  it('records 5,000 departures at once, each once, through two connections', async () => {
    const sessions = new ParticipantSessions(pool);
    const roomId = await ensureRoom(pool, uniqueRoom('departures'));
    const peers = Array.from({ length: 5000 }, () => randomUUID());
    await pool.query(
      `INSERT INTO participant_sessions (room_id, peer_id, display_name, subject, role)
       SELECT $1, peer, 'P', 'guest:' || peer, 'guest' FROM unnest($2::text[]) AS peer`,
      [roomId, peers],
    );
    // Every departure, and a second of each (a socket's disconnect racing its own leave).
    const outcomes = await Promise.allSettled([
      ...peers.map((peer) => sessions.left(peer)),
      ...peers.slice(0, 100).map((peer) => sessions.left(peer)),
    ]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const { rows } = await pool.query<{ left: string; open: string }>(
      `SELECT count(*) FILTER (WHERE left_at IS NOT NULL) AS left, count(*) FILTER (WHERE left_at IS NULL) AS open
       FROM participant_sessions WHERE room_id = $1`,
      [roomId],
    );
    expect(rows[0]).toEqual({ left: '5000', open: '0' });
  });

  it('tells each caller when its departure could not be recorded', async () => {
    const closed = createPool(testDatabaseUrl(), { max: 1 });
    await closed.end();
    const sessions = new ParticipantSessions(closed);
    await expect(sessions.left(randomUUID())).rejects.toThrow();
  });
});
