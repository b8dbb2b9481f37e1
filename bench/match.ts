/**
 * Meet someone under load (`npm run bench -- match`): time from entering the queue to matched,
 * and matches per second, with 1,000 people waiting, on two signaling instances (processes of
 * their own, Redis between them, Postgres for the match rooms, Consul, a media node), against a
 * bare socket.io matchmaker with its queue in memory (bench/matchReference.ts) in the same run.
 *
 * The waiting 1,000 each have an interest of their own, so they wait (the fallback is set past
 * the run) and every search runs past them. Synthetic people (socket.io clients, no media) then
 * arrive at a steady rate, each with a partner already waiting, so the time measured is from
 * "a partner is available" to matched:
 * - interest: the arrival shares the interest of one of the 1,000 (who, once the match ends,
 *   waits again);
 * - anyone: the arrival has no interests; 50 without interests wait behind the 1,000 (and go back
 *   once their match ends), so a partner is there, behind everyone with an interest.
 * Each match is left at once (the room is closed), as a Next would. CPU per match is read from
 * /proc for the servers (both signaling processes and Redis; the reference's one process).
 *
 * Options (environment): BENCH_MATCH_WAITING (1000), BENCH_MATCH_RATES (arrivals per second, one
 * phase each: 50,100,200), BENCH_MATCH_SECONDS (10 per phase, after 2 s of warm-up).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { ensureDatabase } from '@switchboard/db';
import { createLogger } from '@switchboard/logger';
import type { MatchFound } from '@switchboard/protocol';
import {
  cpuSeconds,
  freePort,
  mediaTestEnv,
  startConsul,
  TEST_SERVICE_SECRET,
  testDatabaseUrl,
  testRedisUrl,
  waitFor,
} from '@switchboard/testing';
import { readConfig } from '../services/media/src/config';
import { MediaNode } from '../services/media/src/MediaNode';
import { startProcess, stopProcess } from './processes';
import { summarize } from './stats';

const WAITING = Number(process.env.BENCH_MATCH_WAITING ?? 1000);
const RATES = (process.env.BENCH_MATCH_RATES ?? '50,100,200').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_MATCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
/** Arrivals are made by a pool of connected sockets, each used again once its match is over. */
const ARRIVERS = 400;
/** Those without interests waiting behind the 1,000 (the partners of arrivals without interests). */
const ANYONE_WAITING = 50;
const SECRET = 'bench-match-secret-0123456789abcdef';
const GOAL_P99_MS = 200;

interface Target {
  name: string;
  /** The processes whose CPU a match costs. */
  pids: number[];
  urls: string[];
  stop(): Promise<void>;
}

type Ack = { ok: boolean; data?: { state: string }; error?: { message: string } };

interface Person {
  socket: Socket;
  name: string;
  interests: string[];
  busy: boolean;
  /** Pool people (by index) it met: not picked again (no rematch of a recent pair). */
  met: Set<number>;
  onMatched?: (match: MatchFound) => void;
}

interface Phase {
  rate: number;
  interest: number[];
  anyone: number[];
  matches: number;
  /** Arrivals not made: no free socket (the generator fell behind). */
  skipped: number;
  failed: number;
  /** Why arrivals failed, with how many each. */
  failures: Map<string, number>;
  cpuSeconds: number;
  /** People of the pool waiting, on average over the phase. */
  waitingAvg: number;
}

function connect(url: string, name: string, interests: string[]): Promise<Person> {
  const socket = io(`${url}/match`, {
    auth: { guestId: randomUUID() },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const person: Person = { socket, name, interests, busy: false, met: new Set() };
  socket.on('matched', (match: MatchFound) => person.onMatched?.(match));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(person));
    socket.once('connect_error', reject);
  });
}

const ask = (person: Person, event: string, payload: object) =>
  new Promise<Ack>((resolve) => person.socket.emit(event, payload, resolve));

async function inBatches<T>(count: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let from = 0; from < count; from += 100) {
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(100, count - from) }, (_, k) => make(from + k)))),
    );
  }
  return out;
}

async function runLoad(target: Target, log: (line: string) => void): Promise<Phase[]> {
  const run = randomUUID().slice(0, 8);
  const url = (i: number) => target.urls[i % target.urls.length];
  // The 1,000 waiting, each with an interest of its own; back in the queue whenever a match ends.
  const pool = await inBatches(WAITING, (i) => connect(url(i), `w${i}`, [`w${i}-${run}`]));
  // Those of the 1,000 waiting now and not picked by an arrival in flight.
  const waitingNow = new Set<number>();
  const enter = async (person: Person, free?: () => void) => {
    const answer = await ask(person, 'start', {
      name: person.name,
      interests: person.interests,
      rules: true,
    });
    if (answer.ok && answer.data?.state === 'waiting') {
      free?.();
    }
  };
  pool.forEach((person, i) => {
    person.socket.on('matchEnded', () => void enter(person, () => waitingNow.add(i)));
  });
  await inBatches(WAITING, (i) => enter(pool[i], () => waitingNow.add(i)));
  // Behind them, a few without interests, waiting the same way (back in the queue after each match).
  const anyone = await inBatches(ANYONE_WAITING, (i) => connect(url(i), `n${i}`, []));
  for (const person of anyone) {
    person.socket.on('matchEnded', () => void enter(person));
  }
  await inBatches(ANYONE_WAITING, (i) => enter(anyone[i]));
  log(
    `    ${target.name}: ${waitingNow.size} waiting with an interest each, ${ANYONE_WAITING} without, behind them`,
  );
  const arrivers = await inBatches(ARRIVERS, (i) => connect(url(i + 1), `a${i}`, []));
  // In turn, so each arriver comes back rarely (it does not meet the same person twice soon).
  let next = 0;
  const free = (): Person | undefined => {
    for (let tried = 0; tried < arrivers.length; tried++) {
      const a = arrivers[next++ % arrivers.length];
      if (!a.busy) {
        return a;
      }
    }
    return undefined;
  };

  /**
   * One arrival: sharing the interest of one of the 1,000 (picked, so no other arrival takes it),
   * or without interests; resolves with the time to matched, then leaves the match.
   */
  const arrival = async (a: Person, kind: 'interest' | 'anyone'): Promise<number | undefined> => {
    let interests: string[] = [];
    if (kind === 'interest') {
      const k = [...waitingNow].find((i) => !a.met.has(i));
      if (k === undefined) {
        return undefined;
      }
      waitingNow.delete(k);
      a.met.add(k);
      interests = pool[k].interests;
    }
    let timer: NodeJS.Timeout | undefined;
    const matched = new Promise<number>((resolve, reject) => {
      a.onMatched = () => resolve(performance.now());
      timer = setTimeout(() => reject(new Error('not matched within 10 s')), 10_000);
    });
    try {
      const t0 = performance.now();
      const answer = await ask(a, 'start', { name: a.name, interests, rules: true });
      if (!answer.ok) {
        throw new Error(answer.error?.message);
      }
      return (await matched) - t0;
    } finally {
      clearTimeout(timer);
      await ask(a, 'leave', {});
    }
  };

  const phases: Phase[] = [];
  for (const rate of RATES) {
    const phase: Phase = {
      rate,
      interest: [],
      anyone: [],
      matches: 0,
      skipped: 0,
      failed: 0,
      failures: new Map(),
      cpuSeconds: 0,
      waitingAvg: 0,
    };
    const cpu = () => target.pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
    let measuring = false;
    let cpuStart = 0;
    const waitingSamples: number[] = [];
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    let made = 0;
    let turn = 0;
    while (performance.now() - started < (WARMUP_SECONDS + SECONDS) * 1000) {
      if (!measuring && performance.now() - started >= WARMUP_SECONDS * 1000) {
        measuring = true;
        cpuStart = cpu();
      }
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (made < due) {
        made++;
        const kind = turn++ % 2 === 0 ? 'interest' : 'anyone';
        const a = free();
        if (!a) {
          if (measuring) {
            phase.skipped++;
          }
          continue;
        }
        a.busy = true;
        const counted = measuring;
        const work = arrival(a, kind)
          .then((ms) => {
            if (counted && ms !== undefined) {
              phase[kind].push(ms);
              phase.matches++;
            }
          })
          .catch((error: unknown) => {
            if (counted) {
              phase.failed++;
              const why = `${kind}: ${(error as Error).message}`;
              phase.failures.set(why, (phase.failures.get(why) ?? 0) + 1);
            }
          })
          .finally(() => {
            a.busy = false;
            inFlight.delete(work);
          });
        inFlight.add(work);
      }
      if (measuring) {
        waitingSamples.push(waitingNow.size);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    phase.cpuSeconds = cpu() - cpuStart;
    await Promise.all(inFlight);
    phase.waitingAvg = waitingSamples.reduce((s, x) => s + x, 0) / Math.max(1, waitingSamples.length);
    phases.push(phase);
    log(
      `    ${target.name}: ${rate}/s done (${phase.matches} matches, ${phase.failed} failed, ${phase.skipped} skipped)` +
        [...phase.failures].map(([why, n]) => `; ${n}× ${why}`).join(''),
    );
  }
  for (const person of [...pool, ...anyone, ...arrivers]) {
    person.socket.disconnect();
  }
  return phases;
}

function report(name: string, phases: Phase[], log: (line: string) => void) {
  log(`==> ${name}`);
  log('    arrivals/s  kind       n     p50 ms   p99 ms   max ms   matches/s  CPU ms/match  waiting');
  return phases.map((phase) => {
    const interest = summarize(phase.interest);
    const anyone = summarize(phase.anyone);
    const all = summarize([...phase.interest, ...phase.anyone]);
    const cpuPerMatch = (phase.cpuSeconds * 1000) / Math.max(1, phase.matches);
    for (const [kind, s] of [
      ['interest', interest],
      ['anyone', anyone],
      ['all', all],
    ] as const) {
      log(
        `    ${String(phase.rate).padStart(10)}  ${kind.padEnd(9)} ${String(s.n).padStart(5)} ${(s.p50 ?? NaN).toFixed(1).padStart(9)} ${(s.p99 ?? NaN).toFixed(1).padStart(8)} ${(s.max ?? NaN).toFixed(1).padStart(8)}` +
          (kind === 'all'
            ? `  ${(phase.matches / SECONDS).toFixed(1).padStart(9)}  ${cpuPerMatch.toFixed(2).padStart(12)}  ${phase.waitingAvg.toFixed(0).padStart(7)}` +
              (phase.failed + phase.skipped > 0 ? `  (${phase.failed} failed, ${phase.skipped} skipped)` : '')
            : ''),
      );
    }
    return { all, cpuPerMatch, matchesPerSecond: phase.matches / SECONDS };
  });
}

/** Two signaling processes behind one Redis, a media node and Consul: the real thing. */
async function ourTarget(consulAddr: string, redisPid: number): Promise<Target> {
  const ports = [await freePort(), await freePort()];
  const children: Awaited<ReturnType<typeof startProcess>>['child'][] = [];
  for (const port of ports) {
    const { child } = await startProcess(['services/signaling/src/server.ts'], {
      CONSUL_HTTP_ADDR: consulAddr,
      SIGNALING_PORT: String(port),
      SIGNALING_API_PORT: '0',
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: testRedisUrl(),
      JWT_SECRET: SECRET,
      SERVICE_SECRET: TEST_SERVICE_SECRET,
      LOG_LEVEL: 'warn',
      // The 1,000 wait for the whole run; every bench socket comes from 127.0.0.1.
      MATCH_FALLBACK_MS: '600000',
      MATCH_PER_MINUTE: '1000000',
      SIGNALING_SOCKETS_PER_ADDRESS: '100000',
      SIGNALING_SOCKET_EVENTS_PER_10S: '100000',
      SIGNALING_CLIENT_EVENTS_PER_10S: '100000000',
    });
    children.push(child);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok === true,
      { timeoutMs: 30_000, what: 'signaling healthy' },
    );
  }
  return {
    name: 'switchboard: 2 signaling instances (Redis queue, Postgres rooms, join tokens)',
    pids: [...children.map((c) => c.pid ?? 0), redisPid],
    urls: ports.map((port) => `http://127.0.0.1:${port}`),
    stop: async () => {
      await Promise.all(children.map((c) => stopProcess(c)));
    },
  };
}

async function referenceTarget(): Promise<Target> {
  const { child, line } = await startProcess(['bench/matchReference.ts'], {}, /^listening \d+/);
  return {
    name: 'reference: one socket.io process, queue in memory',
    pids: [child.pid ?? 0],
    urls: [`http://127.0.0.1:${line.split(' ')[1]}`],
    stop: () => stopProcess(child),
  };
}

export async function benchMatch(log: (line: string) => void): Promise<void> {
  log(
    `    ${WAITING} waiting; arrivals ${RATES.join(', ')}/s (half sharing an interest with one of them, half without interests), ${SECONDS} s each (+${WARMUP_SECONDS} s warm-up)`,
  );
  const consul = await startConsul();
  await ensureDatabase(testDatabaseUrl());
  const redis = new Redis(testRedisUrl());
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1] ?? 0);
  redis.disconnect();
  const node = await MediaNode.create(
    readConfig(mediaTestEnv(consul.addr, { MEDIA_RTC_MIN_PORT: '30000', MEDIA_RTC_MAX_PORT: '30999' })),
    createLogger({ service: 'media', level: 'warn', stdout: false }).logger,
  );
  const targets: Target[] = [];
  try {
    await waitFor(async () => (await consul.client.instances('media', { passingOnly: true })).length === 1, {
      what: 'media node passing',
    });
    const ours = await ourTarget(consul.addr, redisPid);
    targets.push(ours);
    const oursPhases = await runLoad(ours, log);
    await ours.stop();
    const reference = await referenceTarget();
    targets.push(reference);
    const referencePhases = await runLoad(reference, log);
    await reference.stop();
    const a = report(ours.name, oursPhases, log);
    const b = report(reference.name, referencePhases, log);
    log('==> ratio ours / reference');
    RATES.forEach((rate, i) => {
      log(
        `    ${String(rate).padStart(4)} arrivals/s: p50 ${(a[i].all.p50 / b[i].all.p50).toFixed(2)}×, p99 ${(a[i].all.p99 / b[i].all.p99).toFixed(2)}×, CPU per match ${(a[i].cpuPerMatch / b[i].cpuPerMatch).toFixed(1)}×, matches/s ${a[i].matchesPerSecond.toFixed(1)} vs ${b[i].matchesPerSecond.toFixed(1)}; goal p99 ≤ ${GOAL_P99_MS} ms: ${a[i].all.p99 <= GOAL_P99_MS ? 'met' : 'NOT met'} (${a[i].all.p99.toFixed(1)} ms)`,
      );
    });
  } finally {
    for (const target of targets) {
      await target.stop().catch(() => {});
    }
    await node.close();
    await consul.close();
  }
}
