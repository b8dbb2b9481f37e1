/**
 * Webhook latency: from an event appended to the stream to its signed POST arriving at an
 * endpoint, through the events service (consumer group, delivery log in Postgres, sender) against
 * the least a relay can do (bench/webhookReference.ts: read, sign, POST, ack; no log, no retries).
 * Each event is appended to both streams in one MULTI at a steady rate, so both see the same
 * load side by side; one receiver on loopback records arrivals. Reported per round and as medians:
 * latency p50/p99 and CPU per delivery from /proc (ours: the events service plus Postgres; the
 * reference: its process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createPool, migrate, WebhookStore } from '@switchboard/db';
import { EVENT_STREAM, newWebhookSecret } from '@switchboard/events';
import { createLogger } from '@switchboard/logger';
import {
  cpuSeconds,
  cpuSecondsOfProcesses,
  freePort,
  REPO_ROOT,
  startConsul,
  startPrivatePostgres,
  startPrivateRedis,
  waitFor,
} from '@switchboard/testing';
import { formatMs, summarize } from './stats';

const ROUNDS = 5;
const PER_ROUND = 2000;
const PER_SECOND = 200;
const REF_STREAM = 'bench:reference:events';

export async function benchWebhooks(log: (line: string) => void): Promise<void> {
  const logger = createLogger({ service: 'bench', level: 'warn' }).logger;
  const [consul, pg, redisServer, eventsPort] = await Promise.all([
    startConsul(),
    startPrivatePostgres(),
    startPrivateRedis({ persistent: false }),
    freePort(),
  ]);
  const redis = new Redis(redisServer.url);
  const pool = createPool(pg.url);
  const children: ChildProcess[] = [];
  const sentAt = new Map<string, number>();
  const arrivals: Record<'ours' | 'reference', Map<string, number>> = {
    ours: new Map(),
    reference: new Map(),
  };
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const at = performance.now();
      const { id } = JSON.parse(body) as { id: string };
      arrivals[req.url === '/reference' ? 'reference' : 'ours'].set(id, at);
      res.writeHead(204).end();
    });
  });
  try {
    await migrate(pool, logger);
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const secret = newWebhookSecret();
    await new WebhookStore(pool).createEndpoint({
      url: `${target}/ours`,
      events: ['*'],
      secret,
      allowInternal: true,
      description: 'bench',
      createdBy: null,
    });
    const events = spawn(process.execPath, ['--import', 'tsx', 'services/events/src/server.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        CONSUL_HTTP_ADDR: consul.addr,
        DATABASE_URL: pg.url,
        REDIS_URL: redisServer.url,
        EVENTS_PORT: String(eventsPort),
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    const reference = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/webhookReference.ts',
        redisServer.url,
        REF_STREAM,
        `${target}/reference`,
        secret,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(events, reference);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${eventsPort}/healthz`).catch(() => undefined))?.ok,
      {
        timeoutMs: 60_000,
        what: 'the events service',
      },
    );
    await new Promise<void>((resolve) => reference.stdout!.once('data', () => resolve()));

    const append = async () => {
      const id = randomUUID();
      const event = JSON.stringify({
        id,
        version: 1,
        type: 'participant.joined',
        time: new Date().toISOString(),
        roomId: 'bench-room',
        peerId: id.slice(0, 8),
        data: { sub: `guest:${id}`, displayName: 'Bench', role: 'participant' },
      });
      sentAt.set(id, performance.now());
      await redis
        .multi()
        .xadd(EVENT_STREAM, '*', 'event', event)
        .xadd(REF_STREAM, '*', 'event', event)
        .exec();
    };
    // Warm-up: the delivery path compiled, connections open.
    for (let i = 0; i < 200; i++) {
      await append();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await waitFor(() => arrivals.ours.size >= 200 && arrivals.reference.size >= 200, { timeoutMs: 30_000 });

    const rounds: Record<'ours' | 'reference', { p50: number; p99: number; cpuUs: number }[]> = {
      ours: [],
      reference: [],
    };
    const postgresCpu = () => cpuSecondsOfProcesses('postgres', { under: process.pid });
    for (let round = 0; round < ROUNDS; round++) {
      sentAt.clear();
      arrivals.ours.clear();
      arrivals.reference.clear();
      const cpu0 = {
        events: cpuSeconds(events.pid!) ?? 0,
        pg: postgresCpu(),
        ref: cpuSeconds(reference.pid!) ?? 0,
      };
      const start = performance.now();
      for (let i = 0; i < PER_ROUND; i++) {
        const due = start + (i * 1000) / PER_SECOND;
        const wait = due - performance.now();
        if (wait > 0) {
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
        await append();
      }
      await waitFor(() => arrivals.ours.size >= PER_ROUND && arrivals.reference.size >= PER_ROUND, {
        timeoutMs: 60_000,
        what: `round ${round}: every delivery (ours ${arrivals.ours.size}, reference ${arrivals.reference.size})`,
      });
      const cpu1 = {
        events: cpuSeconds(events.pid!) ?? 0,
        pg: postgresCpu(),
        ref: cpuSeconds(reference.pid!) ?? 0,
      };
      for (const side of ['ours', 'reference'] as const) {
        const latencies = [...arrivals[side]].map(([id, at]) => at - (sentAt.get(id) ?? at));
        const { p50, p99 } = summarize(latencies);
        const cpu = side === 'ours' ? cpu1.events - cpu0.events + (cpu1.pg - cpu0.pg) : cpu1.ref - cpu0.ref;
        rounds[side].push({ p50, p99, cpuUs: (cpu / PER_ROUND) * 1e6 });
      }
      log(
        `  round ${round + 1}: ours p50 ${formatMs(rounds.ours[round].p50)} p99 ${formatMs(rounds.ours[round].p99)} ` +
          `${rounds.ours[round].cpuUs.toFixed(0)} µs CPU/delivery · reference p50 ${formatMs(rounds.reference[round].p50)} ` +
          `p99 ${formatMs(rounds.reference[round].p99)} ${rounds.reference[round].cpuUs.toFixed(0)} µs CPU/delivery`,
      );
    }
    const median = (side: 'ours' | 'reference', key: 'p50' | 'p99' | 'cpuUs') =>
      summarize(rounds[side].map((r) => r[key])).p50;
    log(
      `${ROUNDS} rounds × ${PER_ROUND} events at ${PER_SECOND}/s, both pipelines side by side; medians of the rounds:`,
    );
    for (const side of ['ours', 'reference'] as const) {
      log(
        `  ${side.padEnd(10)} append → POST received p50 ${formatMs(median(side, 'p50'))} p99 ${formatMs(median(side, 'p99'))}` +
          ` · CPU per delivery ${median(side, 'cpuUs').toFixed(0)} µs${side === 'ours' ? ' (events service + Postgres)' : ''}`,
      );
    }
    log(
      `  ratio ours/reference: p50 ${(median('ours', 'p50') / median('reference', 'p50')).toFixed(2)}× ` +
        `p99 ${(median('ours', 'p99') / median('reference', 'p99')).toFixed(2)}× CPU ${(median('ours', 'cpuUs') / median('reference', 'cpuUs')).toFixed(2)}×`,
    );
  } finally {
    children.forEach((child) => child.kill('SIGTERM'));
    receiver.close();
    redis.disconnect();
    await pool.end();
    await Promise.allSettled([pg.close(), redisServer.close(), consul.close()]);
  }
}
