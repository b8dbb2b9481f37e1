/**
 * The event stream against real Redis: every event arrives once and in order; a consumer killed
 * mid-stream (a real process, SIGKILL) leaves nothing lost — a restart under the same name resumes
 * its pending entries, and another consumer takes over a dead one's (XAUTOCLAIM) — and idempotent
 * handling keeps a redelivered event from counting twice; while Redis is down the writer keeps
 * events in a bounded queue and writes them once it is back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@switchboard/logger';
import { startPrivateRedis, testRedisUrl, waitFor } from '@switchboard/testing';
import { EventConsumer, EventLog, readEvent, type NewEvent, type SwitchboardEvent } from '../src';

const { logger } = createLogger({ service: 'events-test', level: 'silent' });

/** A scripted call's events: two rooms, interleaved. */
function scriptedCall(count: number): NewEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const roomId = i % 2 === 0 ? 'room-a' : 'room-b';
    return i % 3 === 0
      ? {
          type: 'participant.joined',
          roomId,
          peerId: `p${i}`,
          data: { sub: `guest:${i}`, displayName: `P${i}`, role: 'guest' },
        }
      : { type: 'track.muted', roomId, peerId: `p${i}`, data: { producerId: `pr${i}`, muted: i % 2 === 0 } };
  });
}

describe('event stream (real Redis)', () => {
  let redis: Redis;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });

  afterAll(() => {
    children.forEach((child) => child.kill('SIGKILL'));
    redis?.disconnect();
  });

  function consumerProcess(env: Record<string, string>): ChildProcess {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'consumerProcess.ts')],
      {
        env: { ...process.env, REDIS_URL: testRedisUrl(), ...env },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    children.push(child);
    return child;
  }

  async function write(stream: string, events: NewEvent[]): Promise<SwitchboardEvent[]> {
    const log = EventLog.create({ redis, logger, stream });
    const written = events.map((event) => log.append(event));
    await log.flush();
    await log.close();
    return written;
  }

  it('reads back what it wrote; tolerates unknown fields and types; refuses what is no event', () => {
    const event = {
      id: 'x',
      version: 1,
      time: new Date().toISOString(),
      type: 'node.lost',
      data: { node: 'm1', extra: 1 },
    };
    expect(readEvent(JSON.stringify(event))).toEqual({ ok: true, event });
    expect(readEvent(JSON.stringify({ ...event, type: 'room.recorded' }))).toMatchObject({
      ok: false,
      why: 'unknown type',
    });
    expect(readEvent(JSON.stringify({ ...event, data: {} }))).toMatchObject({
      ok: false,
      why: 'invalid',
      message: expect.stringMatching(/^node\.lost: node:/),
    });
    expect(readEvent('{')).toMatchObject({ ok: false, why: 'invalid' });
  });

  it('delivers every event once, in order, to one consumer of a group; skips what it cannot read', async () => {
    const stream = `sb:test:events:${randomUUID()}`;
    const written = await write(stream, scriptedCall(60));
    await redis.xadd(stream, '*', 'event', '{"not":"an event"}');
    const seen: SwitchboardEvent[] = [];
    const skipped: string[] = [];
    const consumer = await EventConsumer.create({
      redis,
      logger,
      stream,
      group: 'analytics',
      consumer: 'c1',
      blockMs: 100,
      handle: async (event) => void seen.push(event),
      onSkipped: (_, why) => skipped.push(why),
    });
    try {
      await waitFor(() => seen.length === 60 && skipped.length === 1, 10_000);
      expect(seen.map((e) => e.id)).toEqual(written.map((e) => e.id));
      expect(seen[0]).toMatchObject({ type: 'participant.joined', roomId: 'room-a', version: 1 });
      // Ids sort by time, and per room the order is the order of writing.
      expect([...seen.map((e) => e.id)].sort()).toEqual(seen.map((e) => e.id));
      // All acknowledged: nothing pending in the group.
      const [pending] = (await redis.xpending(stream, 'analytics')) as [number];
      expect(pending).toBe(0);
    } finally {
      await consumer.close();
    }
  });

  it('resumes a killed consumer under the same name from its pending entries, nothing lost or doubled', async () => {
    const stream = `sb:test:events:${randomUUID()}`;
    const out = `sb:test:handled:${randomUUID()}`;
    const written = await write(stream, scriptedCall(40));
    const child = consumerProcess({
      STREAM: stream,
      GROUP: 'webhooks',
      CONSUMER: 'w1',
      OUT: out,
      STOP_AFTER: '15',
    });
    await waitFor(async () => (await redis.llen(`${out}:deliveries`)) >= 15, 20_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // Killed holding entries delivered but not acknowledged (the 15th mid-handling, the rest unread).
    const [pending] = (await redis.xpending(stream, 'webhooks')) as [number];
    expect(pending).toBeGreaterThan(0);
    // The same consumer again, with no takeover of others (they would have to be idle 10 min).
    const again = consumerProcess({ STREAM: stream, GROUP: 'webhooks', CONSUMER: 'w1', OUT: out });
    try {
      await waitFor(async () => (await redis.hlen(out)) === 40, 20_000);
      await waitFor(async () => ((await redis.xpending(stream, 'webhooks')) as [number])[0] === 0, 10_000);
      expect(Object.keys(await redis.hgetall(out)).sort()).toEqual(written.map((e) => e.id).sort());
      // The one being handled when killed came again (at least once), and only that one.
      const deliveries = await redis.lrange(`${out}:deliveries`, 0, -1);
      expect(deliveries.length).toBeGreaterThanOrEqual(40);
      expect(deliveries.length).toBeLessThanOrEqual(41);
    } finally {
      again.kill('SIGKILL');
    }
  }, 60_000);

  it("has another consumer take over a dead one's pending entries (XAUTOCLAIM)", async () => {
    const stream = `sb:test:events:${randomUUID()}`;
    const out = `sb:test:handled:${randomUUID()}`;
    const written = await write(stream, scriptedCall(30));
    const dead = consumerProcess({
      STREAM: stream,
      GROUP: 'analytics',
      CONSUMER: 'a1',
      OUT: out,
      STOP_AFTER: '5',
    });
    await waitFor(async () => (await redis.llen(`${out}:deliveries`)) >= 5, 20_000);
    dead.kill('SIGKILL');
    const handled = new Map<string, number>();
    const survivor = await EventConsumer.create({
      redis,
      logger,
      stream,
      group: 'analytics',
      consumer: 'a2',
      blockMs: 100,
      claimIdleMs: 500,
      claimEveryMs: 200,
      // Idempotent by event id, as a real consumer's write is.
      handle: async (event) => {
        if ((await redis.hsetnx(out, event.id, 'a2')) === 1) {
          handled.set(event.id, (handled.get(event.id) ?? 0) + 1);
        }
      },
    });
    try {
      await waitFor(async () => (await redis.hlen(out)) === 30, 20_000);
      expect(Object.keys(await redis.hgetall(out)).sort()).toEqual(written.map((e) => e.id).sort());
      expect([...handled.values()].every((n) => n === 1)).toBe(true);
      const owners = Object.values(await redis.hgetall(out));
      expect(owners.filter((o) => o === 'a1')).toHaveLength(5);
      expect(owners.filter((o) => o === 'a2')).toHaveLength(25);
    } finally {
      await survivor.close();
    }
  }, 60_000);

  it('keeps events while Redis is down (bounded, counted) and writes them once it is back', async () => {
    const server = await startPrivateRedis({ persistent: false });
    const own = new Redis(server.url);
    own.on('error', () => {});
    const log = EventLog.create({ redis: own, logger, stream: 'sb:events', maxQueued: 3 });
    try {
      log.append({ type: 'room.started', roomId: 'r', data: {} });
      await log.flush();
      expect(await own.xlen('sb:events')).toBe(1);
      await server.stop();
      const during = scriptedCall(5).map((event) => log.append(event)); // returns at once
      expect(log.queued).toBe(3);
      expect(log.dropped).toBe(2);
      await server.start(); // empty: not persistent
      await log.flush();
      const entries = await own.xrange('sb:events', '-', '+');
      expect(entries.map(([, fields]) => JSON.parse(fields[1]).id)).toEqual(during.slice(2).map((e) => e.id));
    } finally {
      await log.close();
      own.disconnect();
      await server.close();
    }
  }, 60_000);
});
