/**
 * Chat through a PostgreSQL restart and a Redis restart (private servers, stopped abruptly and
 * started again mid-conversation, two signaling instances): sends during an outage are refused
 * with UNAVAILABLE, wait in the client's outbox and go out when the server is back; in the end
 * every message is stored exactly once and both clients hold the same ordered list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, migrate, type Pool } from '@switchboard/db';
import { createLogger } from '@switchboard/logger';
import {
  ensureRoom,
  startPrivatePostgres,
  startPrivateRedis,
  uniqueRoom,
  waitFor,
  type PrivateServer,
} from '@switchboard/testing';
import { expectSameOrderedLists, OutboxClient, TestClients } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'chat-outage-test-secret-0123456789';
const PER_SENDER = 120;

describe('chat through PostgreSQL and Redis restarts', () => {
  let postgres: PrivateServer;
  let redis: PrivateServer;
  let pool: Pool;
  let h: Harness;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    pool = createPool(postgres.url);
    await migrate(pool, createLogger({ service: 'test', level: 'warn', stdout: false }).logger);
    h = await startHarness({
      secret: SECRET,
      signalingInstances: 2,
      signalingEnv: {
        DATABASE_URL: postgres.url,
        REDIS_URL: redis.url,
        SIGNALING_CHAT_MESSAGES_PER_10S: '100000',
      },
    });
  }, 60_000);

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
    await pool?.end();
    await postgres?.close();
    await redis?.close();
  });

  it('loses nothing acknowledged and sends what waited once the stores are back', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-outage'));
    const senders = [0, 1].map(
      (instance) =>
        new OutboxClient(`sender-${instance}`, async (client) =>
          clients.connect(
            h.signaling[instance].port,
            await clients.token(room, client.name, { sub: client.sub }),
          ),
        ),
    );
    await Promise.all(senders.map((s) => s.connect()));
    const acked = () => senders.reduce((n, s) => n + s.acked.size, 0);
    const sending = senders.map(async (sender, i) => {
      for (let n = 0; n < PER_SENDER; n++) {
        await sender.send(`${i}:${n}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    });

    // PostgreSQL goes away for 2 s (immediate shutdown: no checkpoint, connections cut).
    await waitFor(() => acked() >= 40, { timeoutMs: 30_000, what: '40 messages acknowledged' });
    await postgres.stop();
    await new Promise((r) => setTimeout(r, 2000));
    const duringPostgres = acked();
    await postgres.start();
    // Redis goes away for 2 s (killed; it keeps what it had on disk).
    await waitFor(() => acked() >= duringPostgres + 60, {
      timeoutMs: 30_000,
      what: '60 more after PostgreSQL',
    });
    await redis.stop();
    await new Promise((r) => setTimeout(r, 2000));
    await redis.start();
    await Promise.all(sending);

    // While PostgreSQL was down, sends were refused as unavailable (retryable), never as internal.
    const refusals = senders.map((s) => s.refusals);
    expect(
      refusals.some((r) => (r.UNAVAILABLE ?? 0) > 0),
      JSON.stringify(refusals),
    ).toBe(true);
    expect(
      refusals.every((r) => !r.INTERNAL),
      JSON.stringify(refusals),
    ).toBe(true);

    const { rows } = await pool.query<{ seq: string; body: string }>(
      'SELECT seq, body FROM chat_messages WHERE room_id = $1 ORDER BY seq',
      [room],
    );
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 2 * PER_SENDER }, (_, i) => i + 1));
    await expectSameOrderedLists(senders, rows, PER_SENDER);
  }, 120_000);
});
