/**
 * Meet someone under load (issue 16): 1,000 synthetic users (socket.io clients of `/match`, each
 * from an address of its own) on two signaling instances with real Redis, Postgres and a media
 * node, arriving over ten seconds and pressing Next at random for a minute; some block, three
 * "villains" are reported by everyone who meets them, and one match in twenty is joined as a call.
 * Checked all along: nobody is ever told of a second match while in one, each match is told to
 * exactly its two people, a blocked pair never meets again, and no two waiters who could meet
 * both wait past the fallback (read from the queue in Redis twice a second); someone with
 * interests matched before the fallback shares one. At the end: every match's room is gone from
 * the media node and Postgres, the queue is empty, and each villain is kept out.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatchExclusionStore } from '@switchboard/db';
import type { MatchFound } from '@switchboard/protocol';
import { testRedisUrl, waitFor } from '@switchboard/testing';
import { joined, type Client, TestClients } from './clients';
import { startHarness, type Harness } from './harness';
import { MatchCrowd } from './MatchCrowd';

const SECRET = 'match-load-secret-0123456789abcdef';
const USERS = 1000;
const RUN_MS = 60_000;
const FALLBACK_MS = 1000;
const RECENT_MS = 5000;
/** Two who could meet and both waited this much past the fallback, twice in a row, are stuck. */
const STUCK_SLACK_MS = 1000;
const VILLAINS = [7, 77, 777];
const P = 'sb:mm:';

describe('Meet someone under load: 1,000 users pressing Next for a minute on two instances', () => {
  let h: Harness;
  let redis: Redis;
  let crowd: MatchCrowd;
  const calls = new TestClients(SECRET);
  /** The calls joined (one match in twenty), by match: whether the room's end reached them. */
  const joinedCalls = new Map<string, { client: Client; roomId: string; ended: boolean }>();
  const roomIds = new Set<string>();
  const stuck: string[] = [];
  const net = `10.${Math.floor(Math.random() * 250)}.`;

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      signalingInstances: 2,
      signalingEnv: {
        MATCH_FALLBACK_MS: String(FALLBACK_MS),
        MATCH_RECENT_MS: String(RECENT_MS),
        MATCH_PER_MINUTE: '100000',
        MATCH_EXCLUDE_AFTER_REPORTS: '3',
        // The joined calls all come from 127.0.0.1.
        SIGNALING_SOCKETS_PER_ADDRESS: '100000',
        LOG_LEVEL: 'warn',
      },
    });
    redis = new Redis(testRedisUrl());
  }, 120_000);

  afterAll(async () => {
    calls.closeAll();
    redis?.disconnect();
    await h?.close();
  }, 60_000);

  /** Two waiters past the fallback (and the slack) who may meet: not blocked, not met lately. */
  const stuckPairs = async (): Promise<string[]> => {
    const now = Date.now();
    const tickets = await redis.zrangebyscore(`${P}queue`, 0, now - FALLBACK_MS - STUCK_SLACK_MS);
    const identities = (await Promise.all(tickets.map((t) => redis.hget(`${P}t:${t}`, 'identity')))).filter(
      (x): x is string => !!x,
    );
    const pairs: string[] = [];
    for (let i = 0; i < identities.length; i++) {
      for (let j = i + 1; j < identities.length; j++) {
        const [a, b] = [identities[i], identities[j]];
        const blocked = await redis.sismember(`${P}block:${a}`, b);
        const met = Number((await redis.zscore(`${P}recent:${a}`, b)) ?? 0);
        if (!blocked && met <= now - RECENT_MS) {
          pairs.push(`${a}|${b}`);
        }
      }
    }
    return pairs;
  };

  it('never puts anyone in two matches, never leaves two who could meet waiting, prefers interests, keeps blocks, excludes the reported', async () => {
    const ports = h.signaling.map((s) => s.port);
    crowd = new MatchCrowd({
      urls: ports.map((port) => `http://127.0.0.1:${port}`),
      users: USERS,
      arrivalMs: 10_000,
      holdMs: [2000, 6000],
      interests: ['chess', 'jazz', 'hiking', 'films', 'cooking', 'football', 'poetry', 'travel'],
      interestShare: 0.6,
      blockShare: 0.05,
      villains: VILLAINS,
      address: (i) => `${net}${Math.floor(i / 250)}.${i % 250}`,
      onMatch: (match: MatchFound, user) => {
        roomIds.add(match.roomId);
        // One match in twenty is joined as a call (by whoever hears of it first).
        if (user.index % 20 === 0 && !joinedCalls.has(match.matchId)) {
          const entry = { client: undefined as unknown as Client, roomId: match.roomId, ended: false };
          joinedCalls.set(match.matchId, entry);
          void (async () => {
            entry.client = await calls.connect(ports[user.index % 2], match.token);
            entry.client.on('callEnded', () => {
              entry.ended = true;
            });
            await joined(entry.client).catch(() => {
              // Ended before the join got through: the room never opened on the node.
              entry.ended = true;
            });
          })();
        }
      },
    });
    await crowd.connect();
    const startedAt = Date.now();
    crowd.arrive();
    let previous = new Set<string>();
    while (Date.now() - startedAt < RUN_MS) {
      await new Promise((r) => setTimeout(r, 500));
      const now = new Set(await stuckPairs());
      for (const pair of now) {
        if (previous.has(pair)) {
          stuck.push(`${new Date().toISOString()} ${pair}`);
        }
      }
      previous = now;
    }
    await crowd.stop();

    const matches = [...crowd.matches.values()];
    const sorted = [...crowd.waits].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    const early = crowd.waitsAt.filter((w) => w.withInterests && w.ms < FALLBACK_MS - 100);
    const refusals = new Map<string, number>();
    for (const user of crowd.users) {
      if (!VILLAINS.includes(user.index)) {
        for (const [code, n] of user.refusals) {
          refusals.set(code, (refusals.get(code) ?? 0) + n);
        }
      }
    }
    // (services/ log through pino only: the summary goes straight to the test's output.)
    process.stdout.write(
      `${USERS} users, ${RUN_MS / 1000} s: ${matches.length} matches (${(matches.length / (RUN_MS / 1000)).toFixed(1)}/s), ` +
        `wait p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${sorted.at(-1)} ms; ` +
        `${matches.filter((m) => m.shared.length > 0).length} on a shared interest; ${crowd.blocked.size} blocks; ` +
        `${joinedCalls.size} joined as calls; reports ${JSON.stringify(Object.fromEntries(crowd.reports))}; ` +
        `refusals ${JSON.stringify(Object.fromEntries(refusals))}\n`,
    );

    expect(crowd.violations).toEqual([]);
    expect(stuck).toEqual([]);
    expect(matches.length).toBeGreaterThan(USERS); // everyone met several people
    // Told to both: every match but those still being set up when the run stopped.
    expect(matches.filter((m) => m.told.length === 2).length).toBeGreaterThan(matches.length * 0.99);
    // Interests first: matched before the fallback means matched on an interest.
    expect(early.length).toBeGreaterThan(100);
    expect(early.filter((w) => !w.shared)).toEqual([]);
    expect([...refusals.keys()].filter((key) => !key.startsWith('FAILED_PRECONDITION'))).toEqual([]);

    // Every villain was reported by three people and is kept out.
    const exclusions = new MatchExclusionStore(h.pool);
    for (const index of VILLAINS) {
      const villain = crowd.users[index];
      expect(villain.excluded, villain.name).toBe(true);
      expect(await exclusions.active(villain.identity)).toMatchObject({ reason: 'reported by 3 people' });
    }

    // Every match's room ended: the joined calls were told, the node and Postgres have none.
    await waitFor(async () => [...joinedCalls.values()].every((c) => c.ended), {
      timeoutMs: 15_000,
      what: 'every joined call told its match room ended',
    });
    await waitFor(async () => h.media[0].roomCount === 0, { timeoutMs: 15_000, what: 'no room on the node' });
    await waitFor(
      async () =>
        Number(
          (
            await h.pool.query<{ n: string }>('SELECT count(*) AS n FROM rooms WHERE id = ANY($1)', [
              [...roomIds],
            ])
          ).rows[0].n,
        ) === 0,
      { timeoutMs: 15_000, what: "every match's room deleted" },
    );
    // Nobody is left in the queue or in a match.
    const left = await redis.mget(crowd.users.map((u) => `${P}who:${u.identity}`));
    expect(left.filter(Boolean)).toEqual([]);
  }, 240_000);
});
