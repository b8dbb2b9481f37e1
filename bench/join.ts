/**
 * Join latency as a person on a real network feels it, ours beside a plain mediasoup page
 * (bench/joinReference) in the same run. The people already in the room are cheap synthetic
 * publishers (libwebrtc for Node, as the load test uses: a 320×180 camera and a microphone, no
 * decoding), so the machine is not saturated; the joiner is one Chromium tab whose signaling goes
 * through a TCP proxy adding half the round trip each way (`delayProxy.ts`; media goes direct).
 * For the 3rd and 4th joiner (2 or 3 publishers already in a fresh room) we time click Join →
 * every remote video playing (a decoded frame each), at each round trip of BENCH_JOIN_RTTS.
 * Ours and the reference alternate run by run (which goes first swaps each run). Printed per run:
 * the time, and the critical path of signaling round trips after the click from the page's
 * `sb:→ <request>` / `sb:← <request>` marks; then medians, the phase table and the ratios.
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
import { E2E_PORTS } from '../test/e2e/ports';
import { startDelayProxy } from './delayProxy';
import { referenceSignal } from './joinReference/signal';
import { startJoinReference } from './joinReference/server';
import { LoadPeer, type PeerSignal } from './loadtest/LoadPeer';
import { ourSignal } from './loadtest/signals';
import { startBenchStack } from './stack';
import { summarize } from './stats';

const RUNS = Number(process.env.BENCH_JOIN_RUNS ?? 10);
/** Signaling round trips (ms) the joiner is measured at. */
const RTTS = (process.env.BENCH_JOIN_RTTS ?? '0,50,150').split(',').map(Number);
const NAMES = ['Ada', 'Grace', 'Linus'];
/** The joiners reported (1-based): the room holds one publisher fewer when they click. */
const MEASURED = [3, 4];
/** The synthetic publishers' camera cap (bps). */
const PUBLISHER_BITRATE = 300_000;

type Marks = [string, number][];

interface Joined {
  ms: number;
  marks: Marks;
}

interface Target {
  name: 'ours' | 'reference';
  /** The same through the delaying proxy (the joiner's page). */
  delayedUrl: string;
  /** A new room's id. */
  room(label: string): Promise<string>;
  signal(room: string, name: string): Promise<PeerSignal>;
  /** Resolves when the page has done what it does before Join by itself. */
  settled(joiner: Participant): Promise<void>;
}

/** One measurement: `publishers` synthetic people in a fresh room, then the joiner. */
async function scenario(
  browser: Browser,
  target: Target,
  publishers: number,
  label: string,
): Promise<Joined> {
  const room = await target.room(label);
  const peers: LoadPeer[] = [];
  let joiner: Participant | undefined;
  try {
    for (const name of NAMES.slice(0, publishers)) {
      peers.push(
        await LoadPeer.join(await target.signal(room, name), {
          publish: true,
          subscribe: false,
          bitrate: PUBLISHER_BITRATE,
        }),
      );
    }
    joiner = await openRoom(browser, target.delayedUrl, room, 'Barbara');
    await target.settled(joiner);
    await clickJoin(joiner);
    const playing = await waitForRemoteVideos(joiner, NAMES.slice(0, publishers));
    return { ms: playing - (joiner.clickedAt ?? playing), marks: await joinTimeline(joiner) };
  } finally {
    await joiner?.context.close();
    for (const peer of peers) {
      peer.close();
    }
  }
}

/**
 * The requests on the way to receiving, on either page (chat history and producing run beside
 * them and are left out of the path).
 */
const RECEIVING_PATH = new Set([
  // ours
  'join',
  'createWebRtcTransport',
  'connectWebRtcTransport',
  'consume',
  'consumerView',
  'resumeConsumer',
  'resumeConsumers',
  // the reference page
  'websocket',
  'createTransport',
  'connect',
  'resume',
]);

interface RoundTrip {
  name: string;
  start: number;
  end: number;
}

/** The page's signaling requests after the click: each `→ x` paired with the next `← x`. */
function roundTrips(marks: Marks): RoundTrip[] {
  const open = new Map<string, number[]>();
  const trips: RoundTrip[] = [];
  for (const [mark, t] of marks) {
    if (t < 0) {
      continue;
    }
    if (mark.startsWith('→ ')) {
      const name = mark.slice(2);
      open.set(name, [...(open.get(name) ?? []), t]);
    } else if (mark.startsWith('← ')) {
      const name = mark.slice(2);
      const start = open.get(name)?.shift();
      if (start !== undefined) {
        trips.push({ name, start, end: t });
      }
    }
  }
  return trips.sort((a, b) => a.start - b.start);
}

/**
 * The longest chain of round trips each started after the one before it was answered, ending by
 * the time the last consumer was resumed (the page marks `consuming …` once its resume is
 * answered): what the joiner waited for in turn before media could flow. Requests in flight
 * together count once.
 */
export function criticalPath(marks: Marks): RoundTrip[] {
  const resumed = marks.filter(([n]) => n.startsWith('consuming')).map(([, t]) => t);
  const done = resumed.length > 0 ? Math.max(...resumed) : Infinity;
  // On ours' prepared transport the one connect after the click is the sending transport's.
  const prepared = marks.some(([n]) => n === 'receiving on the prepared transport');
  const trips = roundTrips(marks).filter(
    (trip) =>
      trip.end <= done &&
      RECEIVING_PATH.has(trip.name) &&
      !(prepared && trip.name === 'connectWebRtcTransport'),
  );
  const chains: RoundTrip[][] = [];
  for (const [i, trip] of trips.entries()) {
    let best: RoundTrip[] = [];
    for (let j = 0; j < i; j++) {
      if (trips[j].end <= trip.start && chains[j].length > best.length) {
        best = chains[j];
      }
    }
    chains.push([...best, trip]);
  }
  // Of the longest, the one answered last (the resume media waited for, not a request beside it).
  return chains.reduce<RoundTrip[]>(
    (longest, chain) =>
      chain.length > longest.length ||
      (chain.length === longest.length && chain.at(-1)!.end > longest.at(-1)!.end)
        ? chain
        : longest,
    [],
  );
}

const showPath = (path: RoundTrip[]) =>
  `${path.length} round trip${path.length === 1 ? '' : 's'}: ${path.map((t) => `${t.name} ${t.start}→${t.end}`).join(' · ') || '–'}`;

/** The phases both pages mark, as ms after the click (first / last of several marks). */
const PHASES: [string, (marks: Marks) => number | undefined][] = [
  ['joined', (m) => m.find(([n]) => n === 'joined')?.[1]],
  ['both transports', (m) => m.find(([n]) => n === 'transports')?.[1]],
  ['receiving transport connected', (m) => m.find(([n]) => n === 'receiving connected')?.[1]],
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

/**
 * Ours' server time per request over the whole run (every client's, the publishers' too), from
 * signaling's and the media node's own histograms: what a round trip adds beyond the network.
 */
async function serverTimes(log: (line: string) => void): Promise<void> {
  const histograms: [string, string, string][] = [
    [`http://127.0.0.1:${E2E_PORTS.signaling}/metrics`, 'switchboard_socket_request_seconds', 'event'],
    [
      `http://127.0.0.1:${E2E_PORTS.mediaMetrics}/metrics`,
      'switchboard_grpc_server_handling_seconds',
      'method',
    ],
  ];
  for (const [url, name, label] of histograms) {
    const text = await (await fetch(url)).text().catch(() => '');
    const totals = new Map<string, { sum: number; count: number }>();
    for (const line of text.split('\n')) {
      const match = new RegExp(`^${name}_(sum|count)\\{[^}]*${label}="([^"]+)"[^}]*\\} ([0-9.e+-]+)$`).exec(
        line,
      );
      if (match) {
        const total = totals.get(match[2]) ?? { sum: 0, count: 0 };
        total[match[1] as 'sum' | 'count'] += Number(match[3]);
        totals.set(match[2], total);
      }
    }
    log(
      `    ours, server time per request (${name}, mean ms): ${[...totals]
        .filter(([, t]) => t.count > 0)
        .map(([what, t]) => `${what} ${((t.sum / t.count) * 1000).toFixed(1)} (×${t.count})`)
        .join(', ')}`,
    );
  }
}

export interface JoinResult {
  /** Median ms per round trip, target and measured joiner. */
  medians: Record<number, Record<string, Record<number, number>>>;
}

export async function benchJoin(log: (line: string) => void): Promise<JoinResult> {
  const stack = await startBenchStack();
  const reference = await startJoinReference();
  const oursProxy = await startDelayProxy(stack.url, 0);
  const referenceProxy = await startDelayProxy(reference.url, 0);
  const browser = await launchChromium();
  const targets: Target[] = [
    {
      name: 'ours',
      delayedUrl: oursProxy.url,
      room: async (label) => (await createRoom(stack.url, { name: label })).id,
      signal: (room, name) => ourSignal(stack.url, room, name),
      // The meeting page prepares the call while the preview shows (token, socket, capabilities,
      // the receiving transport brought up): what a person looking at the preview for a few
      // seconds leaves it to do.
      settled: async (joiner) => {
        await joiner.page.waitForFunction(
          () => {
            const marks = performance.getEntriesByType('mark').map((m) => m.name);
            return (
              marks.includes('sb:prepared') &&
              (marks.includes('sb:receiving connected') || marks.some((m) => m.startsWith('sb:not prepared')))
            );
          },
          null,
          { timeout: 20_000 },
        );
      },
    },
    {
      name: 'reference',
      delayedUrl: referenceProxy.url,
      room: async (label) => `${label.replace(/\W+/g, '-')}-${Date.now().toString(36)}`,
      signal: (room, name) => referenceSignal(reference.url, room, name),
      settled: async () => {},
    },
  ];
  const results: Record<number, Record<string, Record<number, Joined[]>>> = {};
  try {
    for (const rtt of RTTS) {
      oursProxy.setOneWayMs(rtt / 2);
      referenceProxy.setOneWayMs(rtt / 2);
      results[rtt] = Object.fromEntries(
        targets.map((t) => [t.name, Object.fromEntries(MEASURED.map((n) => [n, []]))]),
      );
      log(`  -- signaling round trip ${rtt} ms (media direct)`);
      for (let run = 1; run <= RUNS; run++) {
        const order = run % 2 === 1 ? targets : [...targets].reverse();
        for (const target of order) {
          for (const joiner of MEASURED) {
            const joined = await scenario(browser, target, joiner - 1, `bench ${rtt} ${run} ${joiner}`);
            results[rtt][target.name][joiner].push(joined);
            log(
              `    rtt ${rtt} run ${run}/${RUNS} ${target.name.padEnd(9)} joiner ${joiner}: ${joined.ms} ms; ${showPath(criticalPath(joined.marks))}`,
            );
            log(`      marks: ${joined.marks.map(([name, t]) => `${name} +${t}`).join(', ')}`);
          }
        }
      }
    }
    await serverTimes(log);
  } finally {
    await browser.close();
    await oursProxy.close();
    await referenceProxy.close();
    await reference.close();
    await stack.stop();
  }
  const medians: JoinResult['medians'] = {};
  const median = (values: number[]) => (values.length > 0 ? summarize(values).p50 : NaN);
  for (const rtt of RTTS) {
    medians[rtt] = {};
    log(`  == round trip ${rtt} ms`);
    for (const target of targets) {
      medians[rtt][target.name] = {};
      for (const joiner of MEASURED) {
        const runs = results[rtt][target.name][joiner];
        medians[rtt][target.name][joiner] = median(runs.map((r) => r.ms));
        const depths = runs.map((r) => criticalPath(r.marks).length);
        log(
          `    ${target.name.padEnd(9)} joiner ${joiner}: median of ${runs.length} ${medians[rtt][target.name][joiner]} ms (runs: ${runs.map((r) => r.ms).join(', ')}); round trips on the critical path: median ${median(depths)} (${depths.join(', ')})`,
        );
      }
    }
    for (const joiner of MEASURED) {
      log(`    where the time goes, joiner ${joiner} (median ms after the click):    ours  reference`);
      for (const [phase, at] of PHASES) {
        const phaseMedian = (name: string) => {
          const values = results[rtt][name][joiner]
            .map((r) => at(r.marks))
            .filter((v): v is number => v !== undefined && Number.isFinite(v));
          return values.length > 0 ? String(median(values)) : '–';
        };
        log(
          `      ${phase.padEnd(56)} ${phaseMedian('ours').padStart(6)} ${phaseMedian('reference').padStart(10)}`,
        );
      }
    }
    const goal = rtt === 0 ? 1.0 : rtt === 50 ? 0.7 : undefined;
    for (const joiner of MEASURED) {
      const ratio = medians[rtt].ours[joiner] / medians[rtt].reference[joiner];
      log(
        `    rtt ${rtt} joiner ${joiner}: ours / reference = ${ratio.toFixed(2)}×${goal === undefined ? '' : ` (goal ≤ ${goal.toFixed(1)}×: ${ratio <= goal ? 'met' : 'NOT met'})`}`,
      );
    }
  }
  return { medians };
}
