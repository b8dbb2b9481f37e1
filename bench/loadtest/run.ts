/**
 * npm run loadtest: synthetic participants that publish and subscribe real RTP without a browser,
 * through the real signaling path, and the same load on bare mediasoup in the same run (the
 * reference). Prints per-second progress and a summary of each, then the capacity figure:
 * consumers per fully used worker core (consumers ÷ the workers' CPU) at ≤ 1 % loss, ours as a
 * ratio of the reference's. `--help` lists the options.
 */
import { parseArgs } from 'node:util';
import { ServiceCredentials } from '@switchboard/auth';
import { ConsulClient } from '@switchboard/consul';
import { cpuSeconds } from '@switchboard/testing';
import { Stack, type StackPorts } from '../../scripts/Stack';
import { createRoom } from '../../test/e2e/browser';
import { E2E_PORTS } from '../../test/e2e/ports';
import { summarize } from '../stats';
import { LoadPeer, type PeerSignal, type Received } from './LoadPeer';
import { BareReference, ourSignal, ourWorkerPids } from './signals';

const USAGE = `npm run loadtest -- [options]

Synthetic participants (libwebrtc for Node, no browser) join rooms through the gateway, NGINX,
signaling and the media node, publish a camera and a microphone and subscribe to every publisher;
then the same load runs on bare mediasoup in this process (the reference: same workers, codecs and
transport settings, no services). Without --url a native stack is started on its own ports (and
stopped at the end).

  --rooms N         rooms (default 2)
  --publishers N    publishers per room: camera + microphone each (default 2)
  --subscribers N   subscribers per room, each consuming every publisher (default 4)
  --bitrate KBPS    camera bitrate cap per publisher, kbit/s (default 300)
  --duration S      seconds of steady load measured after everyone joined (default 20)
  --url URL         load an existing deployment (its public URL) instead of starting one
  --consul URL      that deployment's Consul HTTP address (for the media workers' load)
  --runs N          repeat ours and the reference N times, alternating which goes first (default 1)
  --no-reference    skip the bare-mediasoup reference
  --help            this text
`;

/** The load test's own stack: E2E ports + 2000, a wide RTC range, limits for one source address. */
const LOAD_PORTS: StackPorts = {
  ...(Object.fromEntries(Object.entries(E2E_PORTS).map(([k, v]) => [k, v + 2000])) as StackPorts),
  rtcMin: 29000,
  rtcMax: 29999,
};
const REFERENCE_PORTS = { min: 30000, max: 31999 };
/** Participants joining at once. */
const JOIN_CONCURRENCY = 4;

interface Options {
  rooms: number;
  publishers: number;
  subscribers: number;
  bitrate: number;
  duration: number;
  runs: number;
  url?: string;
  consul?: string;
  reference: boolean;
}

interface Result {
  name: string;
  participants: { held: number; planned: number };
  consumers: number;
  cpu: Map<number, number>;
  loss: number;
  received: Received;
  seconds: number;
  joinMs: number[];
  errors: string[];
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      rooms: { type: 'string', default: '2' },
      publishers: { type: 'string', default: '2' },
      subscribers: { type: 'string', default: '4' },
      bitrate: { type: 'string', default: '300' },
      duration: { type: 'string', default: '20' },
      url: { type: 'string' },
      consul: { type: 'string' },
      runs: { type: 'string', default: '1' },
      'no-reference': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    return undefined;
  }
  const count = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`--${name} must be a whole number ≥ ${min} (got ${value})`);
    }
    return n;
  };
  if (values.url && !values.consul) {
    throw new Error('--url needs --consul (where the media nodes and their load are found)');
  }
  return {
    rooms: count('rooms', values.rooms, 1),
    publishers: count('publishers', values.publishers, 1),
    subscribers: count('subscribers', values.subscribers, 0),
    bitrate: count('bitrate', values.bitrate, 30),
    duration: count('duration', values.duration, 1),
    runs: count('runs', values.runs, 1),
    url: values.url,
    consul: values.consul,
    reference: !values['no-reference'],
  };
}

/** Each worker's share of a core since `since` (CPU seconds per pid at that time). */
function cpuShares(since: Map<number, number>, seconds: number): Map<number, number> {
  const shares = new Map<number, number>();
  for (const [pid, start] of since) {
    shares.set(pid, ((cpuSeconds(pid) ?? start) - start) / seconds);
  }
  return shares;
}

function snapshotCpu(pids: number[]): Map<number, number> {
  const snapshot = new Map<number, number>();
  for (const pid of pids) {
    const seconds = cpuSeconds(pid);
    if (seconds !== undefined) {
      snapshot.set(pid, seconds);
    }
  }
  return snapshot;
}

async function receivedBy(peers: LoadPeer[]): Promise<Received> {
  const total: Received = { packets: 0, lost: 0, bytes: 0 };
  // A peer whose stats cannot be read (closing) counts nothing.
  for (const received of await Promise.all(peers.map((p) => p.received().catch(() => undefined)))) {
    if (received) {
      total.packets += received.packets;
      total.lost += received.lost;
      total.bytes += received.bytes;
    }
  }
  return total;
}

const consumersOf = (peers: LoadPeer[]) => peers.reduce((n, p) => n + p.consumers.length, 0);

/** What was received between two readings. */
const since = (start: Received, end: Received): Received => ({
  packets: end.packets - start.packets,
  lost: end.lost - start.lost,
  bytes: end.bytes - start.bytes,
});

const lossOf = (r: Received) => (r.packets + r.lost > 0 ? r.lost / (r.packets + r.lost) : 0);
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const cpuLine = (cpu: Map<number, number>) =>
  [...cpu].map(([pid, share]) => `${pid}:${(share * 100).toFixed(0)}%`).join(' ') || 'n/a';

/** Runs one side: joins everyone, holds the load for `duration` seconds with progress, measures. */
async function runLoad(
  name: string,
  options: Options,
  rooms: string[],
  signalFor: (room: string, participant: string) => Promise<PeerSignal>,
  workerPids: () => Promise<number[]>,
  log: (line: string) => void,
): Promise<Result> {
  const perRoom = options.publishers + options.subscribers;
  const planned = rooms.length * perRoom;
  const peers: LoadPeer[] = [];
  const joinMs: number[] = [];
  const errors: string[] = [];
  const started = Date.now();
  const progress = setInterval(() => {
    const consumers = consumersOf(peers);
    log(
      `  [${name}] ${Math.round((Date.now() - started) / 1000)}s joining: ${peers.length}/${planned} participants, ${consumers} consumers, ${errors.length} errors`,
    );
  }, 1000);
  // Every publisher first, then the subscribers (each consumes every publisher of its room).
  for (const publish of [true, false]) {
    const phase = rooms.flatMap((room) =>
      Array.from({ length: publish ? options.publishers : options.subscribers }, (_, i) => ({
        room,
        label: `${publish ? 'pub' : 'sub'}-${i + 1}`,
      })),
    );
    for (let i = 0; i < phase.length; i += JOIN_CONCURRENCY) {
      await Promise.all(
        phase.slice(i, i + JOIN_CONCURRENCY).map(async ({ room, label }) => {
          const t0 = performance.now();
          try {
            const signal = await signalFor(room, label);
            peers.push(
              await LoadPeer.join(signal, { publish, subscribe: !publish, bitrate: options.bitrate * 1000 }),
            );
            joinMs.push(performance.now() - t0);
          } catch (error) {
            errors.push(`${label} in ${room}: ${(error as Error).message}`);
          }
        }),
      );
    }
  }
  clearInterval(progress);
  // Let the streams ramp up before measuring.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const pids = await workerPids();
  const cpuStart = snapshotCpu(pids);
  const receivedStart = await receivedBy(peers);
  const t0 = performance.now();
  let last = { at: t0, cpu: snapshotCpu(pids), received: receivedStart };
  for (let second = 1; second <= options.duration; second++) {
    await new Promise((resolve) => setTimeout(resolve, t0 + second * 1000 - performance.now()));
    const now = { at: performance.now(), cpu: snapshotCpu(pids), received: await receivedBy(peers) };
    const dt = (now.at - last.at) / 1000;
    const delta = since(last.received, now.received);
    log(
      `  [${name}] ${second}/${options.duration}s  participants ${peers.length}/${planned}  consumers ${consumersOf(peers)}  worker cpu ${cpuLine(cpuShares(last.cpu, dt))}  received ${((delta.bytes * 8) / dt / 1e6).toFixed(2)} Mbit/s  loss ${pct(lossOf(delta))}  errors ${errors.length}`,
    );
    last = now;
  }
  const seconds = (performance.now() - t0) / 1000;
  const receivedEnd = await receivedBy(peers);
  const received = since(receivedStart, receivedEnd);
  const result: Result = {
    name,
    participants: { held: peers.length, planned },
    consumers: consumersOf(peers),
    cpu: cpuShares(cpuStart, seconds),
    loss: lossOf(received),
    received,
    seconds,
    joinMs,
    errors,
  };
  for (const peer of peers) {
    peer.close();
  }
  return result;
}

function report(result: Result, log: (line: string) => void): void {
  const join = summarize(result.joinMs);
  const cpuTotal = [...result.cpu.values()].reduce((a, b) => a + b, 0);
  log(`--- ${result.name}`);
  log(`  participants held   ${result.participants.held}/${result.participants.planned}`);
  log(`  consumers held      ${result.consumers}`);
  log(`  worker CPU (pid:%)  ${cpuLine(result.cpu)}  (total ${(cpuTotal * 100).toFixed(1)} % of a core)`);
  log(
    `  received            ${((result.received.bytes * 8) / result.seconds / 1e6).toFixed(2)} Mbit/s, ${result.received.packets} packets, ${result.received.lost} lost (${pct(result.loss)})`,
  );
  log(
    join.n > 0
      ? `  join time           p50 ${join.p50.toFixed(0)} ms  p99 ${join.p99.toFixed(0)} ms  (n=${join.n})`
      : '  join time           n/a (nobody joined)',
  );
  log(`  errors              ${result.errors.length}`);
  for (const error of result.errors.slice(0, 10)) {
    log(`    ${error}`);
  }
}

/** Consumers per fully used worker core, when loss stayed within 1 %. */
function capacity(result: Result): number | undefined {
  const cpu = [...result.cpu.values()].reduce((a, b) => a + b, 0);
  return result.loss <= 0.01 && cpu > 0 && result.consumers > 0 ? result.consumers / cpu : undefined;
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  let options: Options | undefined;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (!options) {
    log(USAGE);
    return;
  }
  log(
    `load: ${options.rooms} rooms × (${options.publishers} publishers + ${options.subscribers} subscribers), camera ≤ ${options.bitrate} kbit/s, ${options.duration} s measured`,
  );
  let stack: Stack | undefined;
  let reference: BareReference | undefined;
  try {
    let baseUrl = options.url;
    let consulAddr = options.consul;
    if (!baseUrl) {
      log('starting the native stack (its own ports)…');
      stack = await Stack.start({
        ports: LOAD_PORTS,
        runDir: '.run/loadtest',
        prometheus: false,
        log: () => {},
        env: {
          // Every synthetic participant comes from this one address.
          SIGNALING_CLIENT_EVENTS_PER_10S: '1000000',
          // Every synthetic participant connects from this machine's one address.
          SIGNALING_SOCKETS_PER_ADDRESS: '100000',
          API_RATE_LIMIT_PER_MINUTE: '1000000',
        },
      });
      baseUrl = `http://127.0.0.1:${LOAD_PORTS.http}`;
      consulAddr = `http://127.0.0.1:${LOAD_PORTS.consulHttp}`;
    }
    // The media API wants a service token: the stack's own secret, or SERVICE_SECRET for --url.
    const serviceSecret = stack?.serviceSecret ?? process.env.SERVICE_SECRET;
    if (!serviceSecret) {
      throw new Error("with --url, set SERVICE_SECRET (the media nodes' service secret) to read their load");
    }
    const credentials = new ServiceCredentials(serviceSecret, 'loadtest');
    // Consul denies by default: the stack's management token, or CONSUL_HTTP_TOKEN for --consul.
    const consul = new ConsulClient(consulAddr!, {
      token: stack?.consulManagementToken ?? process.env.CONSUL_HTTP_TOKEN,
    });
    const ourWorkers = () => ourWorkerPids(consul, credentials);
    const workers = (await ourWorkers()).length;
    if (options.reference) {
      reference = await BareReference.start(workers, REFERENCE_PORTS);
    }
    const bare = reference;
    const sides = {
      ours: async (run: number) => {
        const rooms: string[] = [];
        for (let i = 0; i < options.rooms; i++) {
          rooms.push((await createRoom(baseUrl, { name: `Load test ${run}.${i + 1}` })).id);
        }
        return runLoad(
          `ours #${run}`,
          options,
          rooms,
          (room, label) => ourSignal(baseUrl, room, label),
          ourWorkers,
          log,
        );
      },
      reference: async (run: number) => {
        const rooms = Array.from({ length: options.rooms }, (_, i) => `reference-${run}-${i + 1}`);
        return runLoad(
          `reference #${run}`,
          options,
          rooms,
          async (room) => bare!.signal(room),
          async () => bare!.workerPids,
          log,
        );
      },
    };
    const runs: { ours: Result; reference?: Result }[] = [];
    for (let run = 1; run <= options.runs; run++) {
      // The two alternate which goes first, so a drift in machine noise hits both alike.
      if (bare && run % 2 === 0) {
        const reference = await sides.reference(run);
        runs.push({ reference, ours: await sides.ours(run) });
      } else {
        const ours = await sides.ours(run);
        runs.push({ ours, reference: bare ? await sides.reference(run) : undefined });
      }
    }
    log('');
    for (const run of runs) {
      report(run.ours, log);
      if (run.reference) {
        report(run.reference, log);
      }
    }
    log('');
    log('capacity: consumers per worker core (consumers ÷ workers’ CPU) at ≤ 1 % loss');
    const ratios: number[] = [];
    for (const [i, run] of runs.entries()) {
      const ours = capacity(run.ours);
      const ref = run.reference && capacity(run.reference);
      const ratio = ours && ref ? ours / ref : undefined;
      if (ratio) {
        ratios.push(ratio);
      }
      log(
        `  run ${i + 1}: ours ${ours?.toFixed(0) ?? 'n/a'}  reference ${ref?.toFixed(0) ?? 'n/a'}  ratio ${ratio?.toFixed(2) ?? 'n/a'}`,
      );
    }
    if (ratios.length > 0) {
      log(`  median ratio ours/reference: ${summarize(ratios).p50.toFixed(2)} (${ratios.length} runs)`);
    }
    const results = runs.flatMap((run) => [run.ours, ...(run.reference ? [run.reference] : [])]);
    if (results.some((r) => r.errors.length > 0 || r.participants.held < r.participants.planned)) {
      process.exitCode = 1;
    }
  } finally {
    reference?.close();
    await stack?.stop();
  }
}

await main();
// libwebrtc's threads may crash while Node tears the process down after the peers closed: leave
// with our own exit code first.
await new Promise((resolve) => setTimeout(resolve, 500));
process.exit(process.exitCode ?? 0);
