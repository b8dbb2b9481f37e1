/**
 * The matchmaking queue against a real Redis, from two "instances" (two connections, each its own
 * MatchQueue, as two signaling instances would be): interests first, anyone after the fallback,
 * FIFO otherwise; no immediate rematch; blocked pairs never again; and, under 1,000 synthetic
 * users arriving, pressing Next and leaving at random from both instances at once, the
 * invariants: nobody in two matches or both waiting and matched, every match's two sides point
 * at it, nobody lost, and nobody waiting past the fallback while another who takes anyone waits.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedisUrl } from '@switchboard/testing';
import { MatchQueue, type Match } from '../src/match/MatchQueue';

const FALLBACK_MS = 3000;
const RECENT_MS = 60_000;

describe('MatchQueue (real Redis, two instances)', () => {
  const redis: Redis[] = [];
  let prefix: string;
  let queues: MatchQueue[];

  const fresh = () => {
    prefix = `sb:mm:test:${randomUUID()}:`;
    queues = redis.map(
      (r) => new MatchQueue({ redis: r, fallbackMs: FALLBACK_MS, recentMs: RECENT_MS, prefix }),
    );
    return queues;
  };
  const person = (identity: string, tags: string[] = []) => ({
    ticket: randomUUID(),
    identity,
    name: identity,
    tags,
  });

  beforeAll(() => {
    redis.push(new Redis(testRedisUrl()), new Redis(testRedisUrl()));
  });

  afterAll(async () => {
    for (const r of redis) {
      const keys = await r.keys('sb:mm:test:*');
      if (keys.length > 0) {
        await r.del(...keys);
      }
      r.disconnect();
    }
  });

  it('pairs a shared interest first (the longest waiter), keeps others waiting within the fallback', async () => {
    const [q1, q2] = fresh();
    const t0 = 1_000_000;
    expect(await q1.enqueue(person('ada', ['chess', 'jazz']), 'm1', t0)).toEqual({ kind: 'queued' });
    expect(await q2.enqueue(person('bob', ['cooking']), 'm2', t0 + 10)).toEqual({ kind: 'queued' });
    // cy shares jazz with ada: matched at once.
    expect(await q1.enqueue(person('cy', ['jazz']), 'm3', t0 + 20)).toMatchObject({
      kind: 'matched',
      match: { id: 'm3', a: { identity: 'ada' }, b: { identity: 'cy' }, shared: ['jazz'] },
    });
    expect(await q2.current('ada')).toBe('m:m3');
    // dee has no interests: she takes anyone, but bob (with interests, within his fallback) waits
    // for someone sharing one; so dee waits too.
    expect(await q2.enqueue(person('dee'), 'm4', t0 + 30)).toEqual({ kind: 'queued' });
    expect(await q2.waiting()).toBe(2);
    // eve has no interests either: the longest waiter who takes anyone is dee.
    const eve = await q1.enqueue(person('eve'), 'm5', t0 + 40);
    expect(eve).toMatchObject({
      kind: 'matched',
      match: { id: 'm5', a: { identity: 'dee' }, b: { identity: 'eve' } },
    });
    // Past bob's fallback, a newcomer without interests takes him.
    expect(await q2.enqueue(person('fay'), 'm6', t0 + 10 + FALLBACK_MS)).toMatchObject({
      kind: 'matched',
      match: { a: { identity: 'bob' }, b: { identity: 'fay' }, shared: [] },
    });
    expect(await q1.waiting()).toBe(0);
  });

  it('reports the shared interests and refuses a second wait or match for the same identity', async () => {
    const [q1, q2] = fresh();
    await q1.enqueue(person('ada', ['chess', 'jazz', 'go']), 'x1', 1000);
    const made = await q2.enqueue(person('bob', ['go', 'jazz']), 'x2', 1001);
    expect(made.kind === 'matched' && made.match.shared.sort()).toEqual(['go', 'jazz']);
    expect(await q1.enqueue(person('bob'), 'x3', 1002)).toEqual({ kind: 'busy', current: 'm:x2' });
    const waiting = await q1.enqueue(person('cy', ['tea']), 'x4', 1003);
    expect(waiting.kind).toBe('queued');
    expect((await q2.enqueue(person('cy', ['tea']), 'x5', 1004)).kind).toBe('busy');
  });

  it('ends a match for both with Next, never rematches the two soon, and never again once blocked', async () => {
    const [q1, q2] = fresh();
    let now = 5000;
    await q1.enqueue(person('ada'), 'a1', now);
    await q2.enqueue(person('bob'), 'a2', ++now);
    const next = await q1.leave('ada', {}, ++now);
    expect(next).toMatchObject({ kind: 'ended', matchId: 'a2', partner: { identity: 'bob' } });
    expect(await q2.current('bob')).toBeUndefined();
    // Both back in the queue: they just met, so they wait rather than meet again.
    expect(await q1.enqueue(person('ada'), 'a3', ++now)).toEqual({ kind: 'queued' });
    expect(await q2.enqueue(person('bob'), 'a4', ++now)).toEqual({ kind: 'queued' });
    // A third person arrives: the longest waiter (ada) meets her.
    expect(await q1.enqueue(person('cy'), 'a5', ++now)).toMatchObject({
      kind: 'matched',
      match: { a: { identity: 'ada' } },
    });
    // Later than the recent window, ada and bob may meet again...
    now += RECENT_MS + 1;
    await q1.leave('ada', {}, now);
    expect(await q1.enqueue(person('ada'), 'a6', ++now)).toMatchObject({
      kind: 'matched',
      match: { a: { identity: 'bob' } },
    });
    // ...until one blocks the other: then never, however long they wait.
    expect(await q2.leave('bob', { block: true }, ++now)).toMatchObject({
      kind: 'ended',
      partner: { identity: 'ada' },
    });
    now += 10 * RECENT_MS;
    await q1.enqueue(person('ada'), 'a7', now);
    await q2.enqueue(person('bob'), 'a8', now + 1);
    expect(await q1.sweep('s', 50, now + 10 * FALLBACK_MS)).toEqual([]);
    expect(await q1.waiting()).toBe(2);
  });

  it('pairs waiters past the fallback with each other in a sweep, the longest waiters first', async () => {
    const [q1, q2] = fresh();
    await q1.enqueue(person('ada', ['chess']), 'b1', 0);
    await q2.enqueue(person('bob', ['jazz']), 'b2', 100);
    await q1.enqueue(person('cy', ['tea']), 'b3', 200);
    // Within everyone's fallback: nothing to do.
    expect(await q2.sweep('s', 50, 500)).toEqual([]);
    // Past ada's and bob's fallback (not cy's): those two meet.
    const made = await q2.sweep('s', 50, 100 + FALLBACK_MS);
    expect(made.map((m) => [m.a.identity, m.b.identity])).toEqual([['ada', 'bob']]);
    expect(await q1.waiting()).toBe(1);
  });

  it('runs its scripts by SHA1, loading them again after Redis forgot them (SCRIPT FLUSH)', async () => {
    const [q1, q2] = fresh();
    expect(await q1.enqueue(person('fay'), 'f1', 0)).toEqual({ kind: 'queued' });
    await redis[0].script('FLUSH');
    expect(await q2.enqueue(person('gil'), 'f2', 10)).toMatchObject({ kind: 'matched' });
    expect(await q1.leave('fay', {}, 20)).toMatchObject({ kind: 'ended', partner: { identity: 'gil' } });
  });

  it('pairs two without interests at once however many with interests wait ahead of them', async () => {
    fresh();
    // A small scan, and more than it of people with interests (each their own) waiting first.
    const [q1, q2] = redis.map(
      (r) => new MatchQueue({ redis: r, fallbackMs: FALLBACK_MS, recentMs: RECENT_MS, prefix, scan: 5 }),
    );
    for (let i = 0; i < 20; i++) {
      await q1.enqueue(person(`w${i}`, [`only-${i}`]), `w${i}`, i);
    }
    expect(await q1.enqueue(person('ann'), 'a', 100)).toEqual({ kind: 'queued' });
    const met = await q2.enqueue(person('ben'), 'b', 200);
    expect(met.kind === 'matched' && [met.match.a.identity, met.match.b.identity]).toEqual(['ann', 'ben']);
    // Past the fallback, those with interests take anyone: cat (none) meets the longest waiter.
    expect(await q2.enqueue(person('cat'), 'c', FALLBACK_MS + 300)).toMatchObject({
      kind: 'matched',
      match: { a: { identity: 'w0' }, b: { identity: 'cat' } },
    });
    // The sweep: everyone past the fallback takes anyone, the longest waiters first.
    const swept = await q1.sweep('s', 50, 20 + FALLBACK_MS + 1);
    const pairs = Array.from({ length: 9 }, (_, k) => [`w${2 * k + 1}`, `w${2 * k + 2}`]);
    expect(swept.map((m) => [m.a.identity, m.b.identity])).toEqual(pairs);
    // The last of them meets dan, who has no interests, as he arrives.
    expect(await q1.enqueue(person('dan'), 'd', FALLBACK_MS + 400)).toMatchObject({
      kind: 'matched',
      match: { a: { identity: 'w19' }, b: { identity: 'dan' } },
    });
    expect(await q1.waiting()).toBe(0);
  });

  it('keeps its invariants under 1,000 users arriving, pressing Next and leaving from two instances at once', async () => {
    fresh();
    const USERS = 1000;
    const identities = Array.from({ length: USERS }, (_, i) => `u${i}`);
    const tagsOf = (i: number) => (i % 3 === 0 ? [] : [`t${i % 7}`]);
    let clock = 10_000_000;
    let seq = 0;
    const matches = new Map<string, Match>();
    const ended: string[] = [];
    const act = async (i: number) => {
      const q = queues[i % 2];
      const identity = identities[i];
      const roll = Math.random();
      const now = (clock += 3);
      if (roll < 0.55) {
        const result = await q.enqueue(person(identity, tagsOf(i)), `r${seq++}`, now);
        if (result.kind === 'matched') {
          expect(matches.has(result.match.id)).toBe(false);
          matches.set(result.match.id, result.match);
        }
      } else {
        const left = await q.leave(identity, { block: roll > 0.98 }, now);
        if (left.kind === 'ended') {
          ended.push(left.matchId);
        }
      }
    };
    for (let round = 0; round < 20; round++) {
      // 1,000 actions a round, from both instances at once (Redis interleaves them).
      await Promise.all(identities.map(() => act(Math.floor(Math.random() * USERS))));
      for (const m of await queues[round % 2].sweep(`sw${round}-`, 500, (clock += 3))) {
        matches.set(m.id, m);
      }
    }
    // Invariants, read straight from Redis.
    const r = redis[0];
    const who = new Map<string, string>();
    for (const identity of identities) {
      const value = await r.get(`${prefix}who:${identity}`);
      if (value) {
        who.set(identity, value);
      }
    }
    const queued = new Set(await r.zrange(`${prefix}queue`, 0, -1));
    const waitingIdentities = new Set<string>();
    for (const ticket of queued) {
      const identity = await r.hget(`${prefix}t:${ticket}`, 'identity');
      expect(identity, `ticket ${ticket} in the queue has its waiter`).toBeTruthy();
      expect(waitingIdentities.has(identity!), `${identity} waits once`).toBe(false);
      waitingIdentities.add(identity!);
      expect(who.get(identity!)).toBe(`t:${ticket}`);
    }
    let live = 0;
    for (const [identity, value] of who) {
      if (value.startsWith('m:')) {
        const m = await r.hgetall(`${prefix}${value}`);
        expect([m.aIdentity, m.bIdentity], `${identity}'s match ${value}`).toContain(identity);
        const partner = m.aIdentity === identity ? m.bIdentity : m.aIdentity;
        expect(who.get(partner), `${partner} is in the same match`).toBe(value);
        expect(waitingIdentities.has(identity)).toBe(false);
        live++;
      } else {
        expect(waitingIdentities.has(identity), `${identity}'s ticket is in the queue`).toBe(true);
      }
    }
    expect(live % 2).toBe(0);
    // Every match made was ended or is live, never both.
    const liveIds = new Set([...who.values()].filter((v) => v.startsWith('m:')).map((v) => v.slice(2)));
    for (const id of ended) {
      expect(liveIds.has(id)).toBe(false);
    }
    expect(liveIds.size + new Set(ended).size).toBe(matches.size);
    // Nobody waits past the fallback while another who takes anyone (and may meet them) waits.
    await queues[0].sweep('final-', 1000, clock + FALLBACK_MS + 1);
    const stillWaiting = await queues[0].waiting();
    const left = await r.zrange(`${prefix}queue`, 0, -1);
    const leftIds = await Promise.all(left.map((t) => r.hget(`${prefix}t:${t}`, 'identity')));
    const cannotMeet = new Map<string, Set<string>>();
    for (const a of leftIds) {
      const blocks = await r.smembers(`${prefix}block:${a}`);
      const recents = await r.zrange(`${prefix}recent:${a}`, 0, -1);
      cannotMeet.set(a!, new Set([...blocks, ...recents]));
    }
    for (let i = 0; i < leftIds.length; i++) {
      for (let j = i + 1; j < leftIds.length; j++) {
        const [a, b] = [leftIds[i]!, leftIds[j]!];
        expect(
          cannotMeet.get(a)!.has(b),
          `${a} and ${b} both wait past the fallback though they may meet`,
        ).toBe(true);
      }
    }
    // Every kind of outcome happened: matches made, ended and still live.
    expect(matches.size).toBeGreaterThan(1000);
    expect(ended.length).toBeGreaterThan(500);
    expect(live + stillWaiting).toBeGreaterThan(0);
  }, 120_000);
});
