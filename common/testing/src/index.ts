/**
 * Test harness helpers: real components on free ports. Used by integration tests only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { aclAgentConfig, ConsulClient, type ServiceInstance } from '@switchboard/consul';
import type { JoinGrants, RoomPolicy } from '@switchboard/protocol';

export { cpuSeconds, cpuSecondsOfProcesses } from './cpu';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) {
        return value;
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${options.what ?? 'condition'}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

export function consulBinary(): string {
  const candidates = [process.env.CONSUL_BIN, join(REPO_ROOT, '.tools/consul/consul')];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate)) {
      return candidate;
    }
  }
  return 'consul';
}

export interface ConsulAgent {
  addr: string;
  client: ConsulClient;
  /**
   * Waits until `count` instances of `service` pass their checks (30 s unless told) and returns
   * them; on timeout the error names every registered instance with its checks' status and output.
   */
  passing(service: string, count?: number, timeoutMs?: number): Promise<ServiceInstance[]>;
  /** A new agent on the same ports that knows no service. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a private Consul dev agent on free ports; close() stops it and removes its data;
 * restart() stops it and starts a new one on the same ports, which knows no service (what a
 * restarted dev agent, or one that lost its data, looks like to the services).
 */
export async function startConsul(options: { managementToken?: string } = {}): Promise<ConsulAgent> {
  const [http, serf, server, grpc] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-consul-'));
  const addr = `127.0.0.1:${http}`;
  // With a management token: ACLs on, default deny (as the native stack runs it); the client uses it.
  const client = new ConsulClient(addr, { timeoutMs: 1000, token: options.managementToken });
  const aclFile = `${dataDir}.acl.json`;
  if (options.managementToken) {
    writeFileSync(aclFile, JSON.stringify(aclAgentConfig(options.managementToken)), { mode: 0o600 });
  }
  const launch = async (): Promise<ChildProcess> => {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    const child: ChildProcess = spawn(
      consulBinary(),
      [
        'agent',
        '-dev',
        '-client=127.0.0.1',
        '-bind=127.0.0.1',
        `-http-port=${http}`,
        `-serf-lan-port=${serf}`,
        `-server-port=${server}`,
        `-grpc-port=${grpc}`,
        '-dns-port=-1',
        '-hcl=ports { serf_wan = -1 }',
        `-node=test-${http}`,
        `-data-dir=${dataDir}`,
        '-log-level=warn',
        ...(options.managementToken ? [`-config-file=${aclFile}`] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // A process that exits without closing it (process.exit on a bad configuration) must not
    // leave the agent running.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    try {
      await waitFor(async () => (await client.leader()) !== '', { timeoutMs: 20_000, what: 'consul leader' });
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`consul did not start: ${stderr.slice(-2000)}`, { cause: error });
    }
    return child;
  };
  const stop = async (child: ChildProcess) => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      child.kill('SIGKILL');
    }
  };
  let child = await launch();
  return {
    addr,
    client,
    async passing(service, count = 1, timeoutMs = 30_000) {
      try {
        return await waitFor(
          async () => {
            const instances = await client.instances(service, { passingOnly: true });
            return instances.length === count ? instances : undefined;
          },
          { timeoutMs, what: `${count} ${service} instance(s) passing in consul` },
        );
      } catch (error) {
        const all = await client.instances(service).catch(() => []);
        const seen = all.map(
          (i) =>
            `${i.id} ${i.status}: ${i.checks.map((c) => `${c.name} ${c.status} "${c.output.trim()}"`).join('; ')}`,
        );
        throw new Error(`${(error as Error).message}; registered: ${seen.join(' | ') || 'none'}`, {
          cause: error,
        });
      }
    },
    async restart() {
      await stop(child);
      child = await launch();
    },
    async close() {
      await stop(child);
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(aclFile, { force: true });
    },
  };
}

/** Postgres for tests: TEST_DATABASE_URL or a `switchboard_test` database on the local server. */
export function testDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/switchboard_test';
}

/** Redis for tests: TEST_REDIS_URL or database 0 of the local server (tests use unique room names). */
export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** A room name no other test run uses. */
export function uniqueRoom(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The service secret (media API tokens) of the media nodes and signaling servers tests start. */
export const TEST_SERVICE_SECRET = 'test-service-secret-0123456789abcdef';

/**
 * RTC port ranges for the media nodes a test process starts, one slice each (a node's workers
 * listen on the first ports of its slice): below the kernel's ephemeral range (32768+), where an
 * outgoing connection could hold a fixed port, and clear of the other suites' fixed ports.
 */
const TEST_RTC_BASE = 27000;
const TEST_RTC_SLICE = 20;
const TEST_RTC_SLICES = 50;
/** Where this process starts (random: test processes that overlap rarely pick the same slice). */
let rtcSlices = Math.floor(Math.random() * TEST_RTC_SLICES);

/** Environment for an in-process media node on free ports with one worker. */
export function mediaTestEnv(consulAddr: string, extra: Record<string, string> = {}): Record<string, string> {
  const min = TEST_RTC_BASE + (rtcSlices++ % TEST_RTC_SLICES) * TEST_RTC_SLICE;
  return {
    CONSUL_HTTP_ADDR: consulAddr,
    MEDIA_RTC_MIN_PORT: String(min),
    MEDIA_RTC_MAX_PORT: String(min + TEST_RTC_SLICE - 1),
    MEDIA_GRPC_PORT: '0',
    MEDIA_METRICS_PORT: '0',
    MEDIA_NUM_WORKERS: '1',
    // Closing ends the rooms at once (a test that drains sets its own deadline).
    MEDIA_DRAIN_SECONDS: '0',
    SERVICE_SECRET: TEST_SERVICE_SECRET,
    // The worker the test scripts built (mediasoup reads the variable from the process itself).
    MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? '',
    ...extra,
  };
}

/** Makes sure a room with this id exists in Postgres (joins need one), with the given policy. */
export async function ensureRoom(
  pool: { query(sql: string, values: unknown[]): Promise<unknown> },
  id: string,
  policy: RoomPolicy = 'open',
  ownerId: string | null = null,
): Promise<string> {
  await pool.query(
    `INSERT INTO rooms (id, name, policy, owner_id) VALUES ($1, $1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET policy = EXCLUDED.policy`,
    [id, policy, ownerId],
  );
  return id;
}

/** The grants of a join token for tests: a guest who may send and receive, unless overridden. */
export function testGrants(room: string, name: string, extra: Partial<JoinGrants> = {}): JoinGrants {
  return {
    room,
    name,
    sub: `guest:${randomUUID()}`,
    role: 'guest',
    canPublish: true,
    canSubscribe: true,
    ...extra,
  };
}

/** A fresh, valid account for tests. */
export function newAccount(name = 'Tester'): { email: string; password: string; displayName: string } {
  return {
    email: `${name.toLowerCase().replace(/\W/g, '')}-${randomUUID().slice(0, 8)}@example.test`,
    password: `pw-${randomUUID()}`,
    displayName: name,
  };
}
export { ApiClient, randomAddress } from './ApiClient';
export { startPrivatePostgres, startPrivateRedis, type PrivateServer } from './privateServers';
