/**
 * The real components signaling's integration tests run against: a Consul agent, media nodes with
 * a mediasoup worker each, signaling servers, and the Postgres pool and Redis client the tests use
 * to look at what was stored. close() stops everything in reverse order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { ServiceCredentials } from '@switchboard/auth';
import { createPool, ensureDatabase, type Pool } from '@switchboard/db';
import { createLogger, type Logger } from '@switchboard/logger';
import {
  mediaTestEnv,
  REPO_ROOT,
  startConsul,
  TEST_SERVICE_SECRET,
  testDatabaseUrl,
  testRedisUrl,
  waitFor,
  type ConsulAgent,
} from '@switchboard/testing';
import { readConfig as readMediaConfig } from '../../media/src/config';
import { MediaNode } from '../../media/src/MediaNode';
import type { DrainResponse } from '@switchboard/proto';
import { readConfig } from '../src/config';
import { MediaClient } from '../src/MediaClient';
import { SignalingServer } from '../src/SignalingServer';

/** Every test client connects from loopback: one address, far more sockets than a person holds. */
const TEST_SIGNALING_ENV = {
  SIGNALING_SOCKETS_PER_ADDRESS: '10000',
  SERVICE_SECRET: TEST_SERVICE_SECRET,
  // The server API's gRPC port: any free one (tests run side by side).
  SIGNALING_API_PORT: '0',
};

export interface HarnessOptions {
  secret: string;
  mediaNodes?: number;
  signalingInstances?: number;
  /** Extra signaling environment (limits, heartbeat). */
  signalingEnv?: Record<string, string>;
  /** Extra environment of every media node (capacity). */
  mediaEnv?: Record<string, string>;
  mediaLogger?: Logger;
  signalingLogger?: Logger;
}

export interface Harness {
  consul: ConsulAgent;
  media: MediaNode[];
  signaling: SignalingServer[];
  pool: Pool;
  redis: Redis;
  /**
   * A signaling server as its own process (so a test can SIGKILL it) on `port`, using this
   * harness's Consul, Postgres, Redis and secret; close() kills any still running.
   */
  spawnSignaling(port: number, env?: Record<string, string>): ChildProcess;
  /** Waits until the signaling process on `port` answers /healthz and passes in Consul. */
  passingSignaling(port: number): Promise<void>;
  /**
   * Calls the Drain RPC of the media node registered as `nodeId` in Consul, with the service
   * credentials an operator's tool has; the node's answer.
   */
  drain(nodeId: string, deadlineSeconds: number): Promise<DrainResponse>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const consul = await startConsul();
  await ensureDatabase(testDatabaseUrl());
  const spawned: ChildProcess[] = [];
  const harness: Harness = {
    consul,
    media: [],
    signaling: [],
    pool: createPool(testDatabaseUrl()),
    redis: new Redis(testRedisUrl()),
    spawnSignaling(port, env = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'services/signaling/src/server.ts'], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          CONSUL_HTTP_ADDR: consul.addr,
          SIGNALING_PORT: String(port),
          DATABASE_URL: testDatabaseUrl(),
          REDIS_URL: testRedisUrl(),
          JWT_SECRET: options.secret,
          LOG_LEVEL: 'warn',
          ...TEST_SIGNALING_ENV,
          ...options.signalingEnv,
          ...env,
        },
        stdio: 'ignore',
      });
      spawned.push(child);
      return child;
    },
    async passingSignaling(port) {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, {
        timeoutMs: 30_000,
        what: `signaling on port ${port} healthy`,
      });
      await waitFor(
        async () =>
          (await consul.client.instances('signaling', { passingOnly: true })).some((i) => i.port === port),
        { timeoutMs: 30_000, what: `signaling on port ${port} passing in Consul` },
      );
    },
    async drain(nodeId, deadlineSeconds) {
      const node = harness.media.find((m) => m.consulId === nodeId);
      if (!node) {
        throw new Error(`no media node ${nodeId} in this harness`);
      }
      const client = new MediaClient({
        instanceId: nodeId,
        address: `127.0.0.1:${node.grpcPort}`,
        timeoutMs: 5000,
        credentials: new ServiceCredentials(TEST_SERVICE_SECRET, 'test'),
      });
      try {
        return await client.call('drain', { deadlineSeconds }, { correlationId: `drain-${nodeId}` });
      } finally {
        client.close();
      }
    },
    async close() {
      for (const child of spawned) {
        child.kill('SIGKILL');
      }
      for (const server of harness.signaling) {
        await server.close();
      }
      for (const node of harness.media) {
        await node.close();
      }
      await consul.close();
      await harness.pool.end();
      harness.redis.disconnect();
    },
  };
  try {
    await startServers(harness, options);
  } catch (error) {
    await harness.close().catch(() => {});
    throw error;
  }
  return harness;
}

async function startServers(harness: Harness, options: HarnessOptions): Promise<void> {
  const quiet = createLogger({ service: 'test', level: 'warn', stdout: false }).logger;
  const { consul } = harness;
  const mediaNodes = options.mediaNodes ?? 1;
  for (let i = 0; i < mediaNodes; i++) {
    harness.media.push(
      await MediaNode.create(
        readMediaConfig(mediaTestEnv(consul.addr, options.mediaEnv)),
        options.mediaLogger ?? quiet,
      ),
    );
  }
  await consul.passing('media', mediaNodes);
  for (let i = 0; i < (options.signalingInstances ?? 1); i++) {
    harness.signaling.push(
      await SignalingServer.create(
        readConfig({
          CONSUL_HTTP_ADDR: consul.addr,
          SIGNALING_PORT: '0',
          DATABASE_URL: testDatabaseUrl(),
          REDIS_URL: testRedisUrl(),
          JWT_SECRET: options.secret,
          ...TEST_SIGNALING_ENV,
          ...options.signalingEnv,
        }),
        options.signalingLogger ?? quiet,
      ),
    );
  }
}
