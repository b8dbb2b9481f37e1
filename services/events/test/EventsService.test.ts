/**
 * The events service as a process (real Redis stream, real Postgres, real Consul): a call's events
 * become a call record with participants and quality; SIGKILLed mid-stream and started again under
 * its name it resumes with nothing lost or doubled; with Postgres down it acknowledges nothing,
 * reports itself unready, and catches up once Postgres is back.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallStore, createPool, type Pool } from '@switchboard/db';
import { EventLog, EVENT_STREAM, type NewEvent } from '@switchboard/events';
import { createLogger } from '@switchboard/logger';
import { passingInConsul, startEventsProcess, type EventsProcess } from './process';
import {
  freePort,
  startConsul,
  startPrivatePostgres,
  startPrivateRedis,
  waitFor,
  type ConsulAgent,
  type PrivateServer,
} from '@switchboard/testing';

const logger = createLogger({ service: 'test', level: 'warn' }).logger;

describe('events service (analytics consumer)', () => {
  let consul: ConsulAgent;
  let pg: PrivateServer;
  let redisServer: PrivateServer;
  let redis: Redis;
  let pool: Pool;
  let log: EventLog;
  let port: number;
  let service: EventsProcess | undefined;

  const start = () =>
    (service = startEventsProcess(
      { consulAddr: consul.addr, databaseUrl: pg.url, redisUrl: redisServer.url, port },
      { EVENTS_INSTANCE_ID: 'events-test', EVENTS_CALL_REOPEN_MS: '2000' },
    ));
  const health = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    return response?.status;
  };
  const handled = async () =>
    Number((await pool.query('SELECT count(*) FROM analytics_events')).rows[0].count);

  beforeAll(async () => {
    [consul, pg, redisServer, port] = await Promise.all([
      startConsul(),
      startPrivatePostgres(),
      startPrivateRedis(),
      freePort(),
    ]);
    redis = new Redis(redisServer.url);
    pool = createPool(pg.url);
    log = EventLog.create({ redis, logger });
    start();
    await passingInConsul(consul, service);
  }, 120_000);

  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await log?.close();
    redis?.disconnect();
    await pool?.end();
    await Promise.allSettled([pg?.close(), redisServer?.close(), consul?.close()]);
  });

  it('turns a three-person call into a call record: participants, peak, quality p50/p95', async () => {
    const room = `analytics-${Date.now()}`;
    const at = (event: NewEvent) => log.append(event);
    at({ type: 'room.started', roomId: room, data: {} });
    const people = ['Ada', 'Grace', 'Linus'];
    for (const [i, name] of people.entries()) {
      at({
        type: 'participant.joined',
        roomId: room,
        peerId: `p${i}`,
        data: { sub: `guest:${name}`, displayName: name, role: i === 0 ? 'host' : 'participant' },
      });
    }
    // Ada's samples: bitrate 100..1000 kbps, loss 0..9 %.
    for (let k = 0; k < 10; k++) {
      at({
        type: 'quality.sample',
        roomId: room,
        peerId: 'p0',
        data: { bitrateKbps: 100 * (k + 1), lossPercent: k, rttMs: 20 + k, jitterMs: 2, score: 10 - (k % 3) },
      });
    }
    at({ type: 'participant.removed', roomId: room, peerId: 'p2', data: { by: 'guest:Ada' } });
    for (const [i, reason] of ['left', 'left', 'left'].entries()) {
      at({ type: 'participant.left', roomId: room, peerId: `p${(i + 2) % 3}`, data: { reason } });
    }
    at({ type: 'room.ended', roomId: room, data: {} });
    // A tab of a newer writer: an unknown type is passed over, not a failure.
    await redis.xadd(
      EVENT_STREAM,
      '*',
      'event',
      JSON.stringify({ id: 'x', version: 9, type: 'future.thing', time: new Date().toISOString() }),
    );
    const calls = new CallStore(pool);
    const [call] = await waitFor(
      async () => {
        const found = await calls.list({ roomIds: [room] });
        return found[0]?.endedAt ? found : undefined;
      },
      { what: 'the call recorded and ended' },
    );
    expect(call).toMatchObject({ roomId: room, participants: 3, peakParticipants: 3 });
    const detail = (await calls.get(call.id))!;
    expect(detail.participantList.map((p) => [p.displayName, p.role, p.removed, p.leftReason])).toEqual([
      ['Ada', 'host', false, 'left'],
      ['Grace', 'participant', false, 'left'],
      ['Linus', 'participant', true, 'left'],
    ]);
    const ada = detail.participantList[0];
    expect(ada.samples).toBe(10);
    expect(ada.bitrateKbps.p50).toBeCloseTo(550, 5);
    expect(ada.bitrateKbps.p95).toBeCloseTo(955, 5);
    expect(ada.lossPercent.p50).toBeCloseTo(4.5, 5);
    expect(ada.rttMs.p95).toBeCloseTo(28.55, 3);
    expect(detail.participantList[1].samples).toBe(0);
    expect(detail.participantList[1].bitrateKbps.p50).toBeNull();
  });

  it('a room that empties and fills again within the reopen window stays one call; later, a new call', async () => {
    const room = `reopen-${Date.now()}`;
    const join = (peerId: string) =>
      log.append({
        type: 'participant.joined',
        roomId: room,
        peerId,
        data: { sub: `guest:${peerId}`, displayName: peerId, role: 'participant' },
      });
    const leave = (peerId: string) =>
      log.append({ type: 'participant.left', roomId: room, peerId, data: { reason: 'disconnected' } });
    log.append({ type: 'room.started', roomId: room, data: {} });
    join('a');
    leave('a');
    log.append({ type: 'room.ended', roomId: room, data: {} });
    // Back at once (a media node was lost and everyone rejoined): the same call.
    log.append({ type: 'room.started', roomId: room, data: {} });
    join('a2');
    leave('a2');
    log.append({ type: 'room.ended', roomId: room, data: {} });
    const calls = new CallStore(pool);
    await waitFor(
      async () => ((await calls.list({ roomIds: [room] }))[0]?.participants === 2 ? true : undefined),
      {
        what: 'both sessions in one call',
      },
    );
    await new Promise((r) => setTimeout(r, 2500)); // past EVENTS_CALL_REOPEN_MS
    log.append({ type: 'room.started', roomId: room, data: {} });
    join('b');
    const list = await waitFor(
      async () => {
        const found = await calls.list({ roomIds: [room] });
        return found.length === 2 ? found : undefined;
      },
      { what: 'a second call' },
    );
    expect(list.map((c) => c.participants)).toEqual([1, 2]);
    expect(list[0].endedAt).toBeUndefined();
  });

  it('SIGKILLed mid-stream and started again under its name: nothing lost, nothing applied twice', async () => {
    const room = `crash-${Date.now()}`;
    const before = await handled();
    const people = 300;
    log.append({ type: 'room.started', roomId: room, data: {} });
    for (let i = 0; i < people; i++) {
      log.append({
        type: 'participant.joined',
        roomId: room,
        peerId: `c${i}`,
        data: { sub: `guest:c${i}`, displayName: `c${i}`, role: 'participant' },
      });
    }
    for (let i = 0; i < people; i++) {
      log.append({ type: 'participant.left', roomId: room, peerId: `c${i}`, data: { reason: 'left' } });
    }
    log.append({ type: 'room.ended', roomId: room, data: {} });
    await log.flush();
    const total = 2 * people + 2;
    // Killed while it works through them.
    await waitFor(async () => ((await handled()) - before >= 50 ? true : undefined), { what: '50 applied' });
    service!.child.kill('SIGKILL');
    await service!.exit;
    const atKill = (await handled()) - before;
    expect(atKill, 'killed mid-stream').toBeLessThan(total);
    start();
    await waitFor(async () => ((await handled()) - before === total ? true : undefined), {
      timeoutMs: 60_000,
      what: `all ${total} events applied after the restart (${service?.output().slice(-500)})`,
    });
    const { rows } = await pool.query<{ participants: number; peak: number; current: number; left: number }>(
      `SELECT (SELECT count(*) FROM call_participants p WHERE p.call_id = c.id)::int AS participants,
              (SELECT count(*) FROM call_participants p WHERE p.call_id = c.id AND p.left_at IS NOT NULL)::int AS left,
              c.peak_participants AS peak, c.current_participants AS current
         FROM calls c WHERE c.room_id = $1`,
      [room],
    );
    expect(rows).toEqual([{ participants: people, left: people, peak: people, current: 0 }]);
    // Nothing is left pending for the group.
    const pending = (await redis.xpending(EVENT_STREAM, 'analytics')) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
    await waitFor(async () => ((await health()) === 200 ? true : undefined), { what: 'ready again' });
  }, 90_000);

  it('with Postgres down: unready, nothing acknowledged; once it is back, every event applied', async () => {
    const room = `pgdown-${Date.now()}`;
    await pg.stop();
    await waitFor(async () => ((await health()) === 503 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'unready without Postgres',
    });
    log.append({ type: 'room.started', roomId: room, data: {} });
    log.append({
      type: 'participant.joined',
      roomId: room,
      peerId: 'd0',
      data: { sub: 'guest:d0', displayName: 'd0', role: 'participant' },
    });
    await log.flush();
    await waitFor(
      async () => {
        const [count] = (await redis.xpending(EVENT_STREAM, 'analytics')) as [number];
        return count > 0 ? true : undefined;
      },
      { what: 'the event delivered and left pending' },
    );
    await pg.start();
    const calls = new CallStore(pool);
    await waitFor(
      async () => ((await calls.list({ roomIds: [room] }))[0]?.participants === 1 ? true : undefined),
      {
        timeoutMs: 30_000,
        what: 'the events applied once Postgres is back',
      },
    );
    await waitFor(async () => ((await health()) === 200 ? true : undefined), { what: 'ready again' });
    const [count] = (await redis.xpending(EVENT_STREAM, 'analytics')) as [number];
    expect(count).toBe(0);
  }, 60_000);

  it('deregisters and exits 0 on SIGTERM', async () => {
    service!.child.kill('SIGTERM');
    expect(await service!.exit).toBe(0);
    expect(await consul.client.instances('events')).toEqual([]);
  });
});
