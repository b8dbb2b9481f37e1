/**
 * Join latency as a user feels it, ours beside a plain mediasoup page (bench/joinReference) in the
 * same run: four Chromium participants (same flags, same fake camera and microphone) join a fresh
 * room one after another, each clicking Join once the one before sees everyone and is seen by
 * everyone; for the 3rd and 4th joiner we time click Join → every remote video playing (a decoded
 * frame each). Ours runs on the native stack through NGINX. The two alternate run by run (which
 * goes first swaps each run); the medians and their ratio are the numbers to watch, and each run's
 * `sb:` marks show where the time went.
 */
import type { Browser } from 'playwright-core';
import {
  clickJoin,
  createRoom,
  joinTimeline,
  launchChromium,
  openRoom,
  waitForRemoteVideos,
  type Participant,
} from '../test/e2e/browser';
import { startJoinReference } from './joinReference/server';
import { startBenchStack } from './stack';
import { summarize } from './stats';

const RUNS = Number(process.env.BENCH_JOIN_RUNS ?? 5);
const NAMES = ['Ada', 'Grace', 'Linus', 'Barbara'];
/** The joiners reported (1-based). */
const MEASURED = [3, 4];

interface Joined {
  ms: number;
  marks: [string, number][];
}

interface Target {
  name: string;
  /** A new room's id and the base URL its page is under. */
  room(run: number): Promise<{ baseUrl: string; room: string }>;
}

/** One run: everyone joins in turn; the measured joiners' times and marks. */
async function scenario(browser: Browser, baseUrl: string, room: string): Promise<Map<number, Joined>> {
  const people: Participant[] = [];
  const measured = new Map<number, Joined>();
  try {
    for (const [i, name] of NAMES.entries()) {
      const newcomer = await openRoom(browser, baseUrl, room, name);
      people.push(newcomer);
      await clickJoin(newcomer);
      const before = NAMES.slice(0, i);
      if (before.length === 0) {
        continue;
      }
      const playing = await waitForRemoteVideos(newcomer, before);
      if (MEASURED.includes(i + 1)) {
        measured.set(i + 1, {
          ms: playing - (newcomer.clickedAt ?? playing),
          marks: await joinTimeline(newcomer),
        });
      }
      // Steady state before the next one: everyone already in sees the newcomer too.
      for (const person of people.slice(0, -1)) {
        await waitForRemoteVideos(person, [name]);
      }
    }
  } finally {
    for (const person of people) {
      await person.context.close();
    }
  }
  return measured;
}

const showMarks = (marks: [string, number][]) => marks.map(([name, t]) => `${name} +${t}`).join(', ');

/** The phases both pages mark, as ms after the click (first / last of several marks). */
const PHASES: [string, (marks: [string, number][]) => number | undefined][] = [
  ['socket connected', (m) => m.find(([n]) => n === 'connected')?.[1]],
  ['joined', (m) => m.find(([n]) => n === 'joined')?.[1]],
  ['both transports', (m) => m.find(([n]) => n === 'transports')?.[1]],
  [
    'first consumer resumed',
    (m) => Math.min(...m.filter(([n]) => n.startsWith('consuming')).map(([, t]) => t)),
  ],
  [
    'last consumer resumed',
    (m) => Math.max(...m.filter(([n]) => n.startsWith('consuming')).map(([, t]) => t)),
  ],
  ['every remote video playing', (m) => m.find(([n]) => n === 'remote videos playing')?.[1]],
];

export interface JoinResult {
  /** Median ms per target and measured joiner. */
  medians: Record<string, Record<number, number>>;
}

export async function benchJoin(log: (line: string) => void): Promise<JoinResult> {
  const stack = await startBenchStack();
  const reference = await startJoinReference();
  const browser = await launchChromium();
  const targets: Target[] = [
    {
      name: 'ours',
      room: async (run) => ({
        baseUrl: stack.url,
        room: (await createRoom(stack.url, { name: `bench ${run}` })).id,
      }),
    },
    {
      name: 'reference',
      room: async (run) => ({ baseUrl: reference.url, room: `bench-${Date.now().toString(36)}-${run}` }),
    },
  ];
  const times: Record<string, Record<number, number[]>> = Object.fromEntries(
    targets.map((t) => [t.name, Object.fromEntries(MEASURED.map((n) => [n, []]))]),
  );
  const timelines: Record<string, Record<number, [string, number][][]>> = Object.fromEntries(
    targets.map((t) => [t.name, Object.fromEntries(MEASURED.map((n) => [n, []]))]),
  );
  try {
    for (let run = 1; run <= RUNS; run++) {
      const order = run % 2 === 1 ? targets : [...targets].reverse();
      for (const target of order) {
        const { baseUrl, room } = await target.room(run);
        const measured = await scenario(browser, baseUrl, room);
        for (const [joiner, { ms, marks }] of measured) {
          times[target.name][joiner].push(ms);
          timelines[target.name][joiner].push(marks);
          log(
            `    run ${run}/${RUNS} ${target.name.padEnd(9)} joiner ${joiner}: ${ms} ms  (${showMarks(marks)})`,
          );
        }
      }
    }
  } finally {
    await browser.close();
    await reference.close();
    await stack.stop();
  }
  const medians: JoinResult['medians'] = {};
  for (const target of targets) {
    medians[target.name] = {};
    for (const joiner of MEASURED) {
      const runs = times[target.name][joiner];
      medians[target.name][joiner] = summarize(runs).p50;
      log(
        `    ${target.name.padEnd(9)} joiner ${joiner}: median of ${runs.length} ${medians[target.name][joiner]} ms (runs: ${runs.join(', ')})`,
      );
    }
  }
  for (const joiner of MEASURED) {
    log(`    where the time goes, joiner ${joiner} (median ms after the click):    ours  reference`);
    for (const [phase, at] of PHASES) {
      const median = (name: string) => {
        const values = timelines[name][joiner].map(at).filter((v) => v !== undefined && Number.isFinite(v));
        return values.length > 0 ? String(summarize(values as number[]).p50) : '–';
      };
      log(`      ${phase.padEnd(56)} ${median('ours').padStart(6)} ${median('reference').padStart(10)}`);
    }
  }
  for (const joiner of MEASURED) {
    const ratio = medians.ours[joiner] / medians.reference[joiner];
    log(
      `    joiner ${joiner}: ours / reference = ${ratio.toFixed(2)}× (goal ≤ 1.0×, never worse than 1.5×: ${ratio <= 1 ? 'met' : ratio <= 1.5 ? 'within 1.5×' : 'NOT met'})`,
    );
  }
  return { medians };
}
