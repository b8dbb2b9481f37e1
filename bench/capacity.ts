/**
 * Capacity at saturation (`npm run bench -- capacity`): how many consumers a mediasoup worker core
 * carries at ≤ 1 % loss, ours (gateway, NGINX, signaling, gRPC, the media node) against bare
 * mediasoup configured alike (same codecs, a WebRtcServer per worker) in the same run.
 *
 * The generator is cheap enough to saturate a worker from the other core: publishers send
 * pre-made VP8 simulcast frames and audio over SRTP, subscribers count RTP from its clear header
 * without decrypting (bench/loadtest/RtpPeer.ts). Each side: rooms of publishers (one room per
 * worker), then subscribers added in steps, each step held and measured: the workers' CPU from
 * /proc, how busy their cores were (softirq apart), the generator's CPU, the rest of the machine,
 * the loss from sequence numbers and what was delivered of what the publishers sent (a saturated
 * worker first falls behind, then drops). A step fails with over 1 % lost or under 99 %
 * delivered. From 70 % of a worker's core busy the steps get finer; the ramp stops after two
 * failed steps in a row. The capacity is the largest step before them that did not fail; below
 * 60 % of a core, a straight line through (consumers, CPU) gives the worker CPU per consumer, a
 * steadier comparison. With one worker, the worker is pinned to core 0 and this process to core 1
 * (`taskset`), so the generator does not take the worker's core; with two, worker i is pinned to
 * core i and the generator shares them (this machine has two cores).
 *
 * Options (environment): BENCH_CAPACITY_WORKERS (1), BENCH_CAPACITY_RUNS (3, alternating which
 * side goes first), BENCH_CAPACITY_PUBLISHERS (4 per room), BENCH_CAPACITY_STEP (subscribers added
 * per room per step, 6), BENCH_CAPACITY_FINE_STEP (the same from 70 % of a worker's core busy, 2),
 * BENCH_CAPACITY_HOLD (seconds measured per step, 6), BENCH_CAPACITY_BITRATE (top layer kbit/s,
 * 1500), BENCH_CAPACITY_MAX_CONSUMERS (2400), BENCH_CAPACITY_SAMPLE (4: one subscriber in 4 counts
 * its RTP; the others stop reading once connected, which costs the SFU the same, as a network card
 * takes what it sends, and keeps the generator at a fraction of a core).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ServiceCredentials } from '@switchboard/auth';
import { ConsulClient } from '@switchboard/consul';
import { cpuSeconds } from '@switchboard/testing';
import { Stack, type StackPorts } from '../scripts/Stack';
import { createRoom } from '../test/e2e/browser';
import { E2E_PORTS } from '../test/e2e/ports';
import type { PeerSignal, Received } from './loadtest/LoadPeer';
import { RtpPeer } from './loadtest/RtpPeer';
import { pinStores, pinToCore, unpinStores } from './pin';
import { BareReference, ourSignal, ourWorkerPids } from './loadtest/signals';
import { summarize } from './stats';

const WORKERS = Number(process.env.BENCH_CAPACITY_WORKERS ?? 1);
const RUNS = Number(process.env.BENCH_CAPACITY_RUNS ?? 3);
const PUBLISHERS = Number(process.env.BENCH_CAPACITY_PUBLISHERS ?? 4);
const STEP = Number(process.env.BENCH_CAPACITY_STEP ?? 6);
/** Subscribers added per room per step once a worker's core is FINE_FROM busy. */
const FINE_STEP = Number(process.env.BENCH_CAPACITY_FINE_STEP ?? 2);
const FINE_FROM = 0.7;
/** Steps below this share of a core give the CPU cost per consumer (a straight-line fit). */
const LINEAR_UP_TO = 0.6;
const HOLD_S = Number(process.env.BENCH_CAPACITY_HOLD ?? 6);
const BITRATE = Number(process.env.BENCH_CAPACITY_BITRATE ?? 1500) * 1000;
const MAX_CONSUMERS = Number(process.env.BENCH_CAPACITY_MAX_CONSUMERS ?? 2400);
/** One subscriber in this many counts what it receives; the others stop reading once connected. */
const SAMPLE = Number(process.env.BENCH_CAPACITY_SAMPLE ?? 4);
const MAX_LOSS = 0.01;
const SETTLE_MS = 2000;
const JOIN_CONCURRENCY = 4;

const PORTS: StackPorts = {
  ...(Object.fromEntries(Object.entries(E2E_PORTS).map(([k, v]) => [k, v + 3000])) as StackPorts),
  rtcMin: 32200,
  rtcMax: 32299,
};
const REFERENCE_PORTS = { min: 32400, max: 32499 };

interface Step {
  consumers: number;
  /** Each worker's share of a core. */
  workerCpu: number[];
  /**
   * Each worker's core (pinned): how busy it was in all, and the part spent in softirq, which
   * on loopback includes delivering the worker's packets to the receivers' sockets (work a
   * network card and the receivers' machines would do).
   */
  core: { busy: number; softirq: number }[];
  /** This process's (the generator's) share of a core. */
  generatorCpu: number;
  /**
   * Everything else the machine did, in cores: the machine's busy time (/proc/stat) minus the
   * workers and the generator (for ours the services and NGINX; both: the databases, softirq).
   */
  othersCpu: number;
  loss: number;
  /**
   * What the counting subscribers received over what their rooms' publishers sent them (audio and
   * top layer): below 1 also when the SFU falls behind without dropping yet (a growing backlog).
   */
  delivered: number;
  /** What the SFU sent to all subscribers, from the counting ones' share. */
  mbps: number;
}

interface Side {
  name: string;
  signal: (room: string, label: string) => Promise<PeerSignal>;
  rooms: () => Promise<string[]>;
  workerPids: () => Promise<number[]>;
}

/** A core's (or all cores') time so far from /proc/stat, in clock ticks: all, idle, softirq. */
function coreTicks(core: number | 'all'): { total: number; idle: number; softirq: number } {
  const prefix = core === 'all' ? 'cpu ' : `cpu${core} `;
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(prefix));
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line!.split(/\s+/).slice(1, 9).map(Number);
  return {
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    idle: idle + iowait,
    softirq,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function received(peers: RtpPeer[]): Received {
  const total: Received = { packets: 0, lost: 0, bytes: 0 };
  for (const peer of peers) {
    const r = peer.received();
    total.packets += r.packets;
    total.lost += r.lost;
    total.bytes += r.bytes;
  }
  return total;
}

/** One side's ramp: publishers, then subscribers in steps until loss or saturation. */
async function ramp(side: Side, log: (line: string) => void): Promise<Step[]> {
  const rooms = await side.rooms();
  const pids = await side.workerPids();
  // The core each worker is pinned to: core 0 for one worker, worker i on core i for two.
  const cores = pids.map((_, i) => (WORKERS === 1 ? 0 : i % 2));
  pids.forEach((pid, i) => pinToCore(pid, cores[i]));
  const publishers: RtpPeer[] = [];
  const subscribers: RtpPeer[] = [];
  const counting: RtpPeer[] = [];
  const roomOf = new Map<RtpPeer, string>();
  const steps: Step[] = [];
  let joined = 0;
  const join = async (publish: boolean, count: number) => {
    const wanted = rooms.flatMap((room) =>
      Array.from({ length: count }, (_, i) => ({ room, label: `${publish ? 'pub' : 'sub'}-${i}` })),
    );
    for (let i = 0; i < wanted.length; i += JOIN_CONCURRENCY) {
      await Promise.all(
        wanted.slice(i, i + JOIN_CONCURRENCY).map(async ({ room, label }) => {
          const count = !publish && joined++ % SAMPLE === 0;
          const peer = await RtpPeer.join(await side.signal(room, label), {
            publish,
            subscribe: !publish,
            bitrate: BITRATE,
            count,
          });
          (publish ? publishers : subscribers).push(peer);
          roomOf.set(peer, room);
          if (count) {
            counting.push(peer);
          }
        }),
      );
    }
  };
  try {
    await join(true, PUBLISHERS);
    let over = 0;
    for (;;) {
      // A worker's core (not only the worker: with two workers the generator shares their cores).
      const busy = steps.length > 0 && Math.max(...steps.at(-1)!.core.map((c) => c.busy)) >= FINE_FROM;
      await join(false, busy ? FINE_STEP : STEP);
      await sleep(SETTLE_MS);
      const cpu0 = pids.map((pid) => cpuSeconds(pid) ?? 0);
      const ticks0 = cores.map((core) => coreTicks(core));
      const machine0 = coreTicks('all');
      const gen0 = process.cpuUsage();
      // What each counting subscriber should get: what its room's publishers sent for each.
      const owed = () =>
        sum(
          counting.map((c) =>
            sum(
              publishers.filter((p) => roomOf.get(p) === roomOf.get(c)).map((p) => p.sentForEachSubscriber()),
            ),
          ),
        );
      const r0 = received(counting);
      const owed0 = owed();
      const t0 = performance.now();
      await sleep(HOLD_S * 1000);
      const seconds = (performance.now() - t0) / 1000;
      const r1 = received(counting);
      const owed1 = owed();
      const gen = process.cpuUsage(gen0);
      const machine1 = coreTicks('all');
      const packets = r1.packets - r0.packets;
      const lost = r1.lost - r0.lost;
      const workerCpu = pids.map((pid, i) => ((cpuSeconds(pid) ?? cpu0[i]) - cpu0[i]) / seconds);
      const generatorCpu = (gen.user + gen.system) / 1e6 / seconds;
      // All cores: os.cpus(), not availableParallelism(), which counts this pinned process's one.
      const machineBusy =
        (1 - (machine1.idle - machine0.idle) / (machine1.total - machine0.total)) * cpus().length;
      const step: Step = {
        consumers: sum(subscribers.map((s) => s.consumers.length)),
        workerCpu,
        core: cores.map((core, i) => {
          const [a, b] = [ticks0[i], coreTicks(core)];
          const total = b.total - a.total;
          return { busy: 1 - (b.idle - a.idle) / total, softirq: (b.softirq - a.softirq) / total };
        }),
        generatorCpu,
        othersCpu: Math.max(0, machineBusy - sum(workerCpu) - generatorCpu),
        loss: packets + lost > 0 ? lost / (packets + lost) : 1,
        delivered: owed1 > owed0 ? packets / (owed1 - owed0) : 0,
        mbps: (((r1.bytes - r0.bytes) * 8) / seconds / 1e6) * (subscribers.length / counting.length),
      };
      steps.push(step);
      log(
        `  [${side.name}] ${String(step.consumers).padStart(5)} consumers  worker cpu ${step.workerCpu.map(pct).join(' ')}  core ${step.core.map((c) => `${pct(c.busy)} (softirq ${pct(c.softirq)})`).join(' ')}  generator ${pct(step.generatorCpu)}  others ${pct(step.othersCpu)}  ${step.mbps.toFixed(0)} Mbit/s  loss ${(step.loss * 100).toFixed(2)} %  delivered ${(step.delivered * 100).toFixed(1)} %`,
      );
      over = failed(step) ? over + 1 : 0;
      if (over === 2 || step.consumers + rooms.length * STEP * PUBLISHERS * 2 > MAX_CONSUMERS) {
        break;
      }
    }
  } finally {
    for (const peer of [...subscribers, ...publishers]) {
      peer.close();
    }
  }
  return steps;
}

/** Over 1 % lost, or under 99 % of what was sent delivered within the step (falling behind). */
const failed = (step: Step) => step.loss > MAX_LOSS || step.delivered < 1 - MAX_LOSS;

interface Capacity {
  /** Consumers per worker at the largest step held (not failed) before the ramp's end. */
  consumers: number;
  /**
   * Consumers per worker at the last step before the first failed one: stricter, as at the edge
   * a worker can fall behind in one step and catch up in the next.
   */
  beforeFirstFailure: number;
  /** The workers' mean share of a core there. */
  cpu: number;
  /** Worker CPU per 100 consumers (share of a core), from the steps below LINEAR_UP_TO. */
  cpuPer100?: number;
}

function capacityOf(steps: Step[]): Capacity | undefined {
  // The ramp ends with two failed steps (or at the cap): the last step held before them.
  const held = steps.slice(0, failed(steps.at(-1)!) ? -2 : undefined).filter((s) => !failed(s));
  const best = held.at(-1);
  if (!best) {
    return undefined;
  }
  // Least squares through the light steps: CPU = a + b · consumers.
  const light = steps.filter((s) => Math.max(...s.workerCpu) <= LINEAR_UP_TO);
  let cpuPer100: number | undefined;
  if (light.length >= 3) {
    const xs = light.map((s) => s.consumers);
    const ys = light.map((s) => sum(s.workerCpu));
    const mx = sum(xs) / xs.length;
    const my = sum(ys) / ys.length;
    const slope = sum(xs.map((x, i) => (x - mx) * (ys[i] - my))) / sum(xs.map((x) => (x - mx) ** 2));
    cpuPer100 = slope * 100;
  }
  const firstFailure = steps.findIndex(failed);
  const strict = firstFailure > 0 ? steps[firstFailure - 1].consumers : firstFailure < 0 ? best.consumers : 0;
  return {
    consumers: best.consumers / WORKERS,
    beforeFirstFailure: strict / WORKERS,
    cpu: sum(best.workerCpu) / WORKERS,
    cpuPer100,
  };
}

export async function benchCapacity(log: (line: string) => void): Promise<void> {
  log(
    `  ${WORKERS} worker(s), ${PUBLISHERS} publishers per room (one room per worker; VP8 simulcast, top layer ${BITRATE / 1000} kbit/s, + audio), +${STEP} subscribers per room per step, ${HOLD_S} s per step, ${RUNS} runs`,
  );
  if (WORKERS === 1) {
    // Before the stack starts: its services inherit core 1 (the worker is moved to core 0 once it
    // is known). Postgres and Redis run already: their backends would take the worker's core
    // (the events service's analytics of every join, for ours).
    pinToCore(process.pid, 1);
    const stores = pinStores(1);
    log(
      `  pinned: the worker to core 0; this process, the stack's services and ${stores} store processes to core 1`,
    );
  }
  const stack = await Stack.start({
    ports: PORTS,
    runDir: '.run/capacity',
    prometheus: false,
    mediaWorkers: WORKERS,
    log: () => {},
    env: {
      // Every synthetic participant connects from this machine's one address.
      SIGNALING_CLIENT_EVENTS_PER_10S: '1000000',
      SIGNALING_SOCKETS_PER_ADDRESS: '100000',
      API_RATE_LIMIT_PER_MINUTE: '1000000',
      // The ramp goes past the node's advertised capacity on purpose.
      MEDIA_MAX_CONSUMERS_PER_WORKER: '100000',
    },
  });
  const reference = await BareReference.start(WORKERS, REFERENCE_PORTS, { webRtcServer: true });
  // Interrupted, the stack's processes go down with the bench.
  const interrupted = () => {
    // The ramp fails as things close under it: nothing but the stop matters from here.
    process.on('unhandledRejection', () => {}).on('uncaughtException', () => {});
    void stack.stop().finally(() => {
      unpinStores();
      reference.close();
      process.exit(130);
    });
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const baseUrl = `http://127.0.0.1:${PORTS.http}`;
    const credentials = new ServiceCredentials(stack.serviceSecret, 'bench-capacity');
    const consul = new ConsulClient(`http://127.0.0.1:${PORTS.consulHttp}`, {
      token: stack.consulManagementToken,
    });
    const ourWorkers = () => ourWorkerPids(consul, credentials);
    let run = 0;
    const ours: Side = {
      name: 'ours',
      signal: (room, label) => ourSignal(baseUrl, room, label),
      rooms: async () => {
        const ids: string[] = [];
        for (let i = 0; i < WORKERS; i++) {
          ids.push((await createRoom(baseUrl, { name: `Capacity ${run}.${i + 1}` })).id);
        }
        return ids;
      },
      workerPids: ourWorkers,
    };
    const bare: Side = {
      name: 'reference',
      signal: async (room) => reference.signal(room),
      rooms: async () => Array.from({ length: WORKERS }, (_, i) => `capacity-${run}-${i + 1}`),
      workerPids: async () => reference.workerPids,
    };
    const results: { ours?: Capacity; reference?: Capacity }[] = [];
    for (run = 1; run <= RUNS; run++) {
      const order = run % 2 === 1 ? [ours, bare] : [bare, ours];
      const result: (typeof results)[number] = {};
      for (const side of order) {
        const steps = await ramp(side, log);
        result[side === ours ? 'ours' : 'reference'] = capacityOf(steps);
        await sleep(2000);
      }
      results.push(result);
    }
    log('');
    log(
      'consumers per worker at ≤ 1 % loss and ≥ 99 % delivered (the largest step held before it failed), the worker CPU there, and worker CPU per 100 consumers below 60 % of a core',
    );
    const ratios: number[] = [];
    const strictRatios: number[] = [];
    const costRatios: number[] = [];
    const line = (c: Capacity | undefined) =>
      c
        ? `${c.consumers.toFixed(0)} at ${pct(c.cpu)} (${c.beforeFirstFailure.toFixed(0)} before the first failed step), ${c.cpuPer100 ? pct(c.cpuPer100) : 'n/a'} per 100`
        : 'n/a';
    for (const [i, r] of results.entries()) {
      const ratio = r.ours && r.reference ? r.ours.consumers / r.reference.consumers : undefined;
      const cost =
        r.ours?.cpuPer100 && r.reference?.cpuPer100 ? r.ours.cpuPer100 / r.reference.cpuPer100 : undefined;
      if (ratio !== undefined) {
        ratios.push(ratio);
      }
      if (r.ours?.beforeFirstFailure && r.reference?.beforeFirstFailure) {
        strictRatios.push(r.ours.beforeFirstFailure / r.reference.beforeFirstFailure);
      }
      if (cost !== undefined) {
        costRatios.push(cost);
      }
      log(
        `  run ${i + 1}: ours ${line(r.ours)}  reference ${line(r.reference)}  capacity ratio ${ratio?.toFixed(2) ?? 'n/a'}  CPU-per-consumer ratio ${cost?.toFixed(2) ?? 'n/a'}`,
      );
    }
    if (ratios.length > 0) {
      log(
        `  median capacity ratio ours/reference: ${summarize(ratios).p50.toFixed(2)} (${ratios.length} runs)`,
      );
    }
    if (strictRatios.length > 0) {
      log(
        `  median ratio before the first failed step: ${summarize(strictRatios).p50.toFixed(2)} (${strictRatios.length} runs)`,
      );
    }
    if (costRatios.length > 0) {
      log(
        `  median CPU-per-consumer ratio ours/reference: ${summarize(costRatios).p50.toFixed(2)} (${costRatios.length} runs)`,
      );
    }
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    reference.close();
    await stack.stop();
    unpinStores();
  }
}
