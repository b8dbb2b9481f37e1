/**
 * Chat under load (`npm run bench -- chat`): socket.io clients in rooms of 5 on one signaling
 * process (real Postgres, Redis, Consul, a media node for the joins) send messages at a steady
 * rate; each delivery to the room's other members is timed from send to receipt (read off the raw
 * frame, not decoded; the clients are bare WebSockets speaking socket.io's protocol, not
 * socket.io-client: the generator must stay cheaper than the server). The same load then runs,
 * in the same run, against references that store nothing: a bare `ws` fan-out server
 * (bench/wsReference.ts), and socket.io's own floor with and without its Redis adapter
 * (bench/socketIoReference.ts); the report is ours over each. What ours costs beyond socket.io's
 * floor is ours to cut; the floor's cost over `ws` is the engine's. Also: the memory each joined
 * connection costs the server process.
 *
 * Options (environment): BENCH_CHAT_CONNECTIONS (10000), BENCH_CHAT_PER_MINUTE (rates to sweep,
 * comma-separated: 25000,50000,100000; a rate of 0 measures the connections alone, idle),
 * BENCH_CHAT_SECONDS (20 per rate, after 5 s of warm-up), BENCH_CHAT_REFERENCES (which
 * references, in order: ws,socketio,socketio-redis),
 * BENCH_SIGNALING_ENV (JSON of extra signaling variables, to try a setting: '{"LOG_LEVEL":"warn"}'),
 * BENCH_CPU_PROF (a directory for the servers' V8 CPU profiles), BENCH_NODE_FLAGS (e.g. --trace-gc),
 * BENCH_CHAT_PIN=1 (the server measured, ours or the reference, pinned to core 0; this process,
 * the media node's worker, Consul, Postgres and Redis to core 1: latency with a core of its own),
 * or BENCH_CHAT_PIN=main (only the server's main thread on core 0; its GC and other helper threads
 * join the rest on core 1, as they would run on other cores of a larger machine).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { signJoinToken } from '@switchboard/auth';
import { createPool, ensureDatabase, migrate } from '@switchboard/db';
import { createLogger } from '@switchboard/logger';
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
import { askAgainWhenBusy } from '../ui/src/lib/askAgainWhenBusy';
import { MediaNode } from '../services/media/src/MediaNode';
import { pinMainThread, pinStores, pinToCore, unpinStores } from './pin';
import { RawSocketIo } from './rawSocketIo';
import { startProcess, stopProcess } from './processes';
import { summarize } from './stats';

const CONNECTIONS = Number(process.env.BENCH_CHAT_CONNECTIONS ?? 10_000);
/** Message rates to measure, one after another on the same connections. */
const RATES = (process.env.BENCH_CHAT_PER_MINUTE ?? '25000,50000,100000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_CHAT_SECONDS ?? 20);
const WARMUP_SECONDS = 5;
const ROOM_SIZE = 5;
const SECRET = 'bench-chat-secret-0123456789abcdef';
const CONNECT_BATCH = 200;
const PIN_MODE = process.env.BENCH_CHAT_PIN;
const PIN = PIN_MODE === '1' || PIN_MODE === 'main';
/** The server measured on core 0: all its threads, or (`main`) its event loop's alone. */
const pinServer = (pid: number) => (PIN_MODE === 'main' ? pinMainThread(pid, 0, 1) : pinToCore(pid, 0));

/** One benchmark client: sends, and reports each message of others it receives. */
interface LoadClient {
  send(body: string): void;
  close(): void;
}

interface Target {
  name: string;
  pid: number;
  /** The server's worst event-loop delay since the last call (ms), when it reports one. */
  loopDelayMax?: () => Promise<number>;
  /** The server's V8 heap now (MB): in use, and reserved (used + garbage + headroom). */
  heapMb?: () => Promise<{ used: number; total: number }>;
  /** The time its main thread has spent in GC pauses since it started (ms), when it reports it. */
  gcMs?: () => Promise<number>;
  /**
   * Connects and joins client `i` of room `room`; `onMessage` gets each received body, `onAck`
   * each acknowledgement with the body it acknowledges.
   */
  connect(
    i: number,
    room: string,
    onMessage: (body: string) => void,
    onAck: (ok: boolean, body: string) => void,
  ): Promise<LoadClient>;
  stop(): Promise<void>;
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** A chat message's frame as it arrives (`42["chatMessage",{...}]`), its body's field, a good ack's start. */
const CHAT_FRAME = '42["chatMessage",';
const BODY_FIELD = '"body":"';
const ACK_OK = '[{"ok":true';

/**
 * Times a chat message from its body's send time without decoding the frame: the generator shares
 * a core with Postgres and Redis, and JSON-decoding ~6,700 deliveries a second took most of it, so
 * it fell behind and sent in bursts, which the server's latency then showed. The server excludes
 * the sender from the fan-out, so every chat frame here is someone else's. Other events are
 * ignored.
 */
function receiveChat(frame: string, onMessage: (body: string) => void): void {
  if (frame.startsWith(CHAT_FRAME)) {
    const at = frame.indexOf(BODY_FIELD);
    if (at >= 0) {
      const from = at + BODY_FIELD.length;
      onMessage(frame.slice(from, frame.indexOf('"', from)));
    }
  }
}

/** Our signaling service, as its own process, behind which the media node and stores are real. */
async function signalingTarget(consulAddr: string): Promise<Target> {
  const port = await freePort();
  const { child } = await startProcess(['services/signaling/src/server.ts'], {
    CONSUL_HTTP_ADDR: consulAddr,
    SIGNALING_PORT: String(port),
    SIGNALING_API_PORT: '0',
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: testRedisUrl(),
    JWT_SECRET: SECRET,
    SERVICE_SECRET: TEST_SERVICE_SECRET,
    LOG_LEVEL: 'info',
    // The rate limits are the defaults: each connection is its own person (address), as in a
    // real meeting, so the per-client budget in Redis is counted for 10,000 clients.
    ...(JSON.parse(process.env.BENCH_SIGNALING_ENV ?? '{}') as Record<string, string>),
  });
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok === true,
    {
      timeoutMs: 30_000,
      what: 'signaling healthy',
    },
  );
  /** Signaling's /metrics now: a metric's (first) value by name, NaN when absent. */
  const scrape = async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Object.assign(
      (name: string) => Number(new RegExp(`^${name}\\S* (\\S+)`, 'm').exec(text)?.[1] ?? NaN),
      {
        /** The sum of a metric's values over all its labels. */
        sum: (name: string) =>
          [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))].reduce(
            (total, match) => total + Number(match[1]),
            0,
          ),
      },
    );
  };
  let caps: unknown;
  return {
    name: 'switchboard signaling (socket.io, Postgres, Redis adapter)',
    pid: child.pid ?? 0,
    // prom-client's event-loop figures cover the time since the previous scrape.
    loopDelayMax: async () => (await scrape())('nodejs_eventloop_lag_max_seconds') * 1000,
    heapMb: async () => {
      const value = await scrape();
      return {
        used: value('nodejs_heap_size_used_bytes') / 2 ** 20,
        total: value('nodejs_heap_size_total_bytes') / 2 ** 20,
      };
    },
    // prom-client's GC histogram: every kind (minor, major, incremental, weak callbacks).
    gcMs: async () => (await scrape()).sum('nodejs_gc_duration_seconds_sum') * 1000,
    async connect(i, room, onMessage, onAck) {
      const { token } = await signJoinToken(
        {
          room,
          sub: `guest:${randomUUID()}`,
          name: `c${i}`,
          role: 'guest',
          canPublish: false,
          canSubscribe: false,
        },
        SECRET,
        3600,
      );
      const socket = await RawSocketIo.connect(
        `http://127.0.0.1:${port}`,
        { token },
        // Behind NGINX, as a browser at its own address (signaling trusts the loopback proxy).
        { 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
      );
      caps ??= (await socket.request<{ rtpCapabilities: unknown }>('getRouterRtpCapabilities', {}))
        .rtpCapabilities;
      if (i % ROOM_SIZE === 0) {
        await socket.request('getRouterRtpCapabilities', {}); // opens the room's session on the media node
      }
      // The media node runs in this process, on the core the generator saturates while it
      // connects: its Consul check can fail for a moment, and joins then find no node
      // (UNAVAILABLE). Asked again as the browser asks a busy server again.
      await askAgainWhenBusy(() => socket.request('join', { rtpCapabilities: caps }), {
        tries: 5,
        delayMs: () => 2000,
        stopped: () => false,
      });
      socket.onEvent = (frame) => receiveChat(frame, onMessage);
      return {
        // The measured sends are a bare emit (no deadline timer): the load generator must cost
        // less than what it measures. Each carries a correlation id, as the UI's requests do (else
        // signaling makes one per message); the message's own id serves, which costs nothing more.
        send: (body) => {
          const id = randomUUID();
          socket.emit('chatSend', { clientId: id, correlationId: id, body }, (answer) =>
            onAck(answer.startsWith(ACK_OK), body),
          );
        },
        close: () => socket.close(),
      };
    },
    stop: () => stopProcess(child),
  };
}

/**
 * socket.io's own floor (bench/socketIoReference.ts), as its own process: with `redis`, its
 * broadcasts also go through the Redis adapter, as signaling's do.
 */
async function socketIoTarget(redis: boolean): Promise<Target> {
  const { child, line } = await startProcess(
    ['bench/socketIoReference.ts'],
    redis ? { REDIS_URL: testRedisUrl() } : {},
    /^listening \d+/,
  );
  const port = Number(line.split(' ')[1]);
  /** Its `/heap`: V8's heap in use and reserved (MB), and its GC pauses so far (ms). */
  const heap = async () =>
    (await (await fetch(`http://127.0.0.1:${port}/heap`)).json()) as {
      used: number;
      total: number;
      gcMs: number;
    };
  return {
    name: `reference: bare socket.io fan-out${redis ? ' + Redis adapter' : ''} (no storage)`,
    pid: child.pid ?? 0,
    loopDelayMax: async () => Number(await (await fetch(`http://127.0.0.1:${port}/loop`)).text()),
    heapMb: heap,
    gcMs: async () => (await heap()).gcMs,
    async connect(_i, room, onMessage, onAck) {
      const socket = await RawSocketIo.connect(`http://127.0.0.1:${port}`, { room });
      socket.onEvent = (frame) => receiveChat(frame, onMessage);
      return {
        send: (body) => socket.emit('chatSend', { body }, (answer) => onAck(answer.startsWith(ACK_OK), body)),
        close: () => socket.close(),
      };
    },
    stop: () => stopProcess(child),
  };
}

/** The references measured after ours, by name (BENCH_CHAT_REFERENCES). */
const REFERENCES: Record<string, () => Promise<Target>> = {
  ws: () => referenceTarget(),
  socketio: () => socketIoTarget(false),
  'socketio-redis': () => socketIoTarget(true),
};
const REFERENCE_NAMES = (process.env.BENCH_CHAT_REFERENCES ?? 'ws,socketio,socketio-redis')
  .split(',')
  .filter(Boolean);

/** The bare `ws` fan-out reference, as its own process. */
async function referenceTarget(): Promise<Target> {
  const { child, line } = await startProcess(['bench/wsReference.ts'], {}, /^listening \d+/);
  const port = Number(line.split(' ')[1]);
  return {
    name: 'reference: bare ws fan-out (no storage)',
    pid: child.pid ?? 0,
    async connect(_i, room, onMessage, onAck) {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`);
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      await new Promise<void>((resolve) => {
        socket.once('message', () => resolve());
        socket.send(JSON.stringify({ t: 'join', room }));
      });
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { t: string; body: string; id: string };
        if (message.t === 'msg') {
          onMessage(message.body);
        } else if (message.t === 'ack') {
          onAck(true, message.id);
        }
      });
      return {
        // The id starts with the send time, like the body, so the ack says when it was sent.
        send: (body) =>
          socket.send(JSON.stringify({ t: 'msg', id: `${body.split(' ')[0]} ${randomUUID()}`, body })),
        close: () => socket.close(),
      };
    },
    stop: () => stopProcess(child),
  };
}

interface Phase {
  perMinute: number;
  sent: number;
  acked: number;
  refused: number;
  expectedDeliveries: number;
  latencies: number[];
  /** Over the measured seconds: the server process's CPU and the load generator's (this process), in % of one core, and the whole machine's busy share. */
  serverCpu: number;
  generatorCpu: number;
  machineBusy: number;
  /** The server's RSS at the end of the measured seconds (MB). */
  rssMb: number;
  /** The worst event-loop delay over the measured seconds (ms): the server's, the generator's. */
  serverLoopMax: number;
  generatorLoopMax: number;
  /** The server's main thread in GC pauses over the measured seconds (ms; NaN when not reported). */
  serverGcMs: number;
}

interface LoadResult {
  name: string;
  connections: number;
  connectSeconds: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  heapAfterMb?: { used: number; total: number };
  phases: Phase[];
}

/** The machine's busy and total CPU time so far (jiffies, all cores). */
const machineTicks = () => {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + fields[4];
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
};

/** CPU seconds the server process has used so far (user + system); it must still run. */
const serverCpuSeconds = (pid: number) => {
  const seconds = cpuSeconds(pid);
  if (seconds === undefined) {
    throw new Error(`the server process ${pid} is gone`);
  }
  return seconds;
};

/** Connects every client (rooms of ROOM_SIZE), then sends at each rate in turn. */
async function runLoad(target: Target, roomIds: string[], log: (line: string) => void): Promise<LoadResult> {
  const t0 = performance.now();
  const rssBeforeMb = rssMb(target.pid);
  const clients: LoadClient[] = [];
  let phase: (Phase & { since: number }) | undefined;
  /** Only messages sent inside the measured seconds count (not the warm-up's, arriving late). */
  const measured = (body: string) => {
    const sentAt = Number(body.slice(0, body.indexOf(' ')));
    return phase && sentAt >= phase.since ? { phase, sentAt } : undefined;
  };
  const onMessage = (body: string) => {
    const m = measured(body);
    m?.phase.latencies.push(performance.now() - m.sentAt);
  };
  const onAck = (ok: boolean, body: string) => {
    const m = measured(body);
    if (m) {
      m.phase[ok ? 'acked' : 'refused']++;
    }
  };
  for (let start = 0; start < CONNECTIONS; start += CONNECT_BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(CONNECT_BATCH, CONNECTIONS - start) }, (_, k) => {
        const i = start + k;
        return target.connect(i, roomIds[Math.floor(i / ROOM_SIZE)], onMessage, onAck);
      }),
    );
    clients.push(...batch);
    if ((start / CONNECT_BATCH) % 10 === 9) {
      log(`    ${clients.length} connected and joined (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
  }
  const connectSeconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  const rssAfterMb = rssMb(target.pid);
  const heapAfterMb = await target.heapMb?.();

  const phases: Phase[] = [];
  for (const perMinute of RATES) {
    // A steady rate: every 10 ms, the messages due by now, each from a random client.
    const perMs = perMinute / 60_000;
    const current: Phase = {
      perMinute,
      sent: 0,
      acked: 0,
      refused: 0,
      expectedDeliveries: 0,
      latencies: [],
      serverCpu: 0,
      generatorCpu: 0,
      machineBusy: 0,
      rssMb: 0,
      serverLoopMax: NaN,
      generatorLoopMax: 0,
      serverGcMs: NaN,
    };
    const generatorLoop = monitorEventLoopDelay({ resolution: 10 });
    let sent = 0;
    let cpuAtStart = 0;
    let gcAtStart: Promise<number> | undefined;
    let ownAtStart = process.cpuUsage();
    let machineAtStart = machineTicks();
    const begin = performance.now();
    const end = begin + (WARMUP_SECONDS + SECONDS) * 1000;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        if (!phase && now - begin >= WARMUP_SECONDS * 1000) {
          if (PIN) {
            pinServer(target.pid); // threads started since (libuv's pool) inherited the main thread's core
          }
          phase = Object.assign(current, { since: now });
          cpuAtStart = serverCpuSeconds(target.pid);
          gcAtStart = target.gcMs?.();
          ownAtStart = process.cpuUsage();
          machineAtStart = machineTicks();
          generatorLoop.enable();
          void target.loopDelayMax?.();
        }
        const due = Math.floor((now - begin) * perMs);
        for (; sent < due; sent++) {
          clients[Math.floor(Math.random() * clients.length)].send(`${performance.now()} hello`);
          if (phase) {
            phase.sent++;
          }
        }
        if (now >= end) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    current.serverCpu = ((serverCpuSeconds(target.pid) - cpuAtStart) / SECONDS) * 100;
    generatorLoop.disable();
    current.generatorLoopMax = generatorLoop.max / 1e6;
    current.serverLoopMax = (await target.loopDelayMax?.()) ?? NaN;
    current.serverGcMs = gcAtStart && target.gcMs ? (await target.gcMs()) - (await gcAtStart) : NaN;
    const own = process.cpuUsage(ownAtStart);
    current.generatorCpu = ((own.user + own.system) / 1e6 / SECONDS) * 100;
    const machine = machineTicks();
    current.rssMb = rssMb(target.pid);
    current.machineBusy =
      ((machine.busy - machineAtStart.busy) / (machine.total - machineAtStart.total)) * 100;
    await new Promise((r) => setTimeout(r, 2000)); // the last deliveries
    phase = undefined;
    current.expectedDeliveries = current.sent * (ROOM_SIZE - 1);
    phases.push(current);
    log(
      `    ${target.name}: ${perMinute}/min done (${current.latencies.length} deliveries timed, p50 ${current.latencies.length > 0 ? summarize(current.latencies).p50.toFixed(1) : '-'} ms)`,
    );
  }
  for (const client of clients) {
    client.close();
  }
  return {
    name: target.name,
    connections: clients.length,
    connectSeconds,
    rssBeforeMb,
    rssAfterMb,
    heapAfterMb,
    phases,
  };
}

/** What the server's RSS at `rssMb` holds per connection beyond its RSS before connecting (KB). */
const kbPerConnection = (result: LoadResult, rssMb: number) =>
  ((rssMb - result.rssBeforeMb) * 1024) / result.connections;

/** The server's CPU time per message sent (ms): comparable across machines as a ratio to the reference's. */
const cpuPerMessage = (phase: Phase) => ((phase.serverCpu / 100) * SECONDS * 1000) / phase.sent;

function report(
  result: LoadResult,
  log: (line: string) => void,
): (ReturnType<typeof summarize> & { cpu: number })[] {
  log(`==> ${result.name}`);
  log(
    `    ${result.connections} connections joined in ${result.connectSeconds.toFixed(1)} s; server RSS ${result.rssBeforeMb.toFixed(0)} → ${result.rssAfterMb.toFixed(0)} MB (${kbPerConnection(result, result.rssAfterMb).toFixed(1)} KB per connection)${result.heapAfterMb ? `; V8 heap then ${result.heapAfterMb.used.toFixed(0)} MB in use of ${result.heapAfterMb.total.toFixed(0)} MB` : ''}`,
  );
  return result.phases.map((phase) => {
    const loop = `worst event-loop delay: server ${Number.isNaN(phase.serverLoopMax) ? 'n/a' : `${phase.serverLoopMax.toFixed(0)} ms`}, generator ${phase.generatorLoopMax.toFixed(0)} ms`;
    if (phase.perMinute === 0) {
      // The connections alone, no messages: what the server spends holding them.
      log(
        `         idle: CPU: server ${phase.serverCpu.toFixed(1)} % of a core, load generator ${phase.generatorCpu.toFixed(0)} %, machine ${phase.machineBusy.toFixed(0)} % busy; ${loop}; server RSS then ${phase.rssMb.toFixed(0)} MB (${kbPerConnection(result, phase.rssMb).toFixed(1)} KB per connection)`,
      );
      return { ...summarize([NaN]), cpu: phase.serverCpu };
    }
    const s = summarize(phase.latencies);
    log(
      `    ${String(phase.perMinute).padStart(6)}/min: ${phase.sent} sent in ${SECONDS} s, ${phase.acked} acked, ${phase.refused} refused, ${phase.latencies.length} of ${phase.expectedDeliveries} deliveries timed; CPU: server ${phase.serverCpu.toFixed(0)} % (${cpuPerMessage(phase).toFixed(3)} ms per message${Number.isNaN(phase.serverGcMs) ? '' : `, of which GC pauses ${(phase.serverGcMs / phase.sent).toFixed(3)} ms`}), load generator ${phase.generatorCpu.toFixed(0)} % of a core, machine ${phase.machineBusy.toFixed(0)} % busy`,
    );
    log(
      `                 send → deliver p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms; ${loop}`,
    );
    return { ...s, cpu: cpuPerMessage(phase) };
  });
}

export async function benchChat(log: (line: string) => void): Promise<void> {
  log(
    `    ${CONNECTIONS} connections in rooms of ${ROOM_SIZE}; ${RATES.join(', ')} messages/min, each for ${SECONDS} s (+${WARMUP_SECONDS} s warm-up)`,
  );
  if (PIN) {
    // Before Consul and the media worker start: they inherit this process's core.
    pinToCore(process.pid, 1);
    const stores = pinStores(1);
    log(
      `    pinned: the server measured to core 0${PIN_MODE === 'main' ? ' (its main thread; its other threads to core 1)' : ''}; this process, its children and ${stores} store processes to core 1`,
    );
  }
  // Everything started is stopped in `finally`, also when a later start fails (a media node that
  // will not start must not leave Consul running and the stores pinned).
  let consul: Awaited<ReturnType<typeof startConsul>> | undefined;
  let pool: ReturnType<typeof createPool> | undefined;
  let node: MediaNode | undefined;
  const run = `chatbench-${Date.now().toString(36)}`;
  const roomIds = Array.from({ length: Math.ceil(CONNECTIONS / ROOM_SIZE) }, (_, i) => `${run}-${i}`);
  const targets: Target[] = [];
  try {
    consul = await startConsul();
    await ensureDatabase(testDatabaseUrl());
    pool = createPool(testDatabaseUrl());
    // A new machine's test database has no tables until something migrates it.
    await migrate(pool, createLogger({ service: 'bench', level: 'warn', stdout: false }).logger);
    node = await MediaNode.create(
      readConfig(
        mediaTestEnv(consul.addr, {
          MEDIA_MAX_ROOMS: String(CONNECTIONS),
          MEDIA_RTC_MIN_PORT: '30000',
          MEDIA_RTC_MAX_PORT: '30999',
        }),
      ),
      createLogger({ service: 'media', level: 'warn', stdout: false }).logger,
    );
    await pool.query(
      `INSERT INTO rooms (id, name) SELECT unnest($1::text[]), 'bench' ON CONFLICT DO NOTHING`,
      [roomIds],
    );
    const agent = consul;
    await waitFor(async () => (await agent.client.instances('media', { passingOnly: true })).length === 1, {
      what: 'media node passing',
    });
    const ours = await signalingTarget(consul.addr);
    targets.push(ours);
    if (PIN) {
      pinServer(ours.pid);
    }
    const results = [await runLoad(ours, roomIds, log)];
    await ours.stop();
    for (const name of REFERENCE_NAMES) {
      const start = REFERENCES[name];
      if (!start) {
        throw new Error(
          `BENCH_CHAT_REFERENCES: no reference "${name}" (${Object.keys(REFERENCES).join(', ')})`,
        );
      }
      const reference = await start();
      targets.push(reference);
      if (PIN) {
        pinServer(reference.pid);
      }
      results.push(await runLoad(reference, roomIds, log));
      await reference.stop();
    }
    const stats = results.map((result) => report(result, log));
    for (let k = 1; k < results.length; k++) {
      log(`==> ratio ours / ${results[k].name}`);
      log(
        `    memory per connection ${(kbPerConnection(results[0], results[0].rssAfterMb) / kbPerConnection(results[k], results[k].rssAfterMb)).toFixed(1)}×`,
      );
      RATES.forEach((rate, i) => {
        const [a, b] = [stats[0][i], stats[k][i]];
        if (rate === 0) {
          log(
            `         idle: server CPU ${(a.cpu / b.cpu).toFixed(1)}× (${a.cpu.toFixed(1)} % / ${b.cpu.toFixed(1)} % of a core)`,
          );
          return;
        }
        log(
          `    ${String(rate).padStart(6)}/min: p50 ${(a.p50 / b.p50).toFixed(2)}×, p95 ${(a.p95 / b.p95).toFixed(2)}×, p99 ${(a.p99 / b.p99).toFixed(2)}×, server CPU per message ${(a.cpu / b.cpu).toFixed(1)}×${k === 1 ? `; goal p99 ≤ 50 ms: ${a.p99 <= 50 ? 'met' : 'NOT met'} (${a.p99.toFixed(1)} ms)` : ''}`,
        );
      });
    }
  } finally {
    for (const target of targets) {
      await target.stop().catch(() => {});
    }
    await pool?.query('DELETE FROM rooms WHERE id LIKE $1', [`${run}-%`]).catch(() => {});
    await pool?.end();
    await node?.close();
    await consul?.close();
    if (PIN) {
      unpinStores();
    }
  }
}
