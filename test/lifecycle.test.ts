/**
 * Every service, started from its real entry point (src/server.ts) as its own process: registers
 * in a real Consul with a passing health check, and on SIGTERM deregisters and exits 0. A bad
 * environment stops it at once with a message naming each wrong variable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabase } from '@switchboard/db';
import {
  freePort,
  REPO_ROOT,
  startConsul,
  testDatabaseUrl,
  testRedisUrl,
  waitFor,
  type ConsulAgent,
} from '@switchboard/testing';

interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function startProcess(entry: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

describe('service processes', () => {
  let consul: ConsulAgent;
  const started: Started[] = [];

  beforeAll(async () => {
    consul = await startConsul();
    await ensureDatabase(testDatabaseUrl());
  });

  afterAll(async () => {
    for (const s of started) {
      s.child.kill('SIGKILL');
    }
    await consul?.close();
  });

  it('register with passing checks, register again after a Consul restart, deregister and exit 0 on SIGTERM', async () => {
    const [media, mediaMetrics, signaling, gateway, logViewer, ui, events] = await Promise.all(
      Array.from({ length: 7 }, () => freePort()),
    );
    const common = {
      CONSUL_HTTP_ADDR: consul.addr,
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: testRedisUrl(),
      JWT_SECRET: 'lifecycle-test-secret-0123456789',
      SERVICE_SECRET: 'lifecycle-service-secret-0123456789',
    };
    const services: [string, string, Record<string, string>][] = [
      [
        'media',
        'services/media/src/server.ts',
        { MEDIA_GRPC_PORT: String(media), MEDIA_METRICS_PORT: String(mediaMetrics), MEDIA_NUM_WORKERS: '1' },
      ],
      [
        'signaling',
        'services/signaling/src/server.ts',
        { SIGNALING_PORT: String(signaling), SIGNALING_API_PORT: '0' },
      ],
      ['gateway', 'services/gateway/src/server.ts', { GATEWAY_PORT: String(gateway) }],
      [
        'log-viewer',
        'log-viewer/src/server.ts',
        { LOG_VIEWER_PORT: String(logViewer), LOG_VIEWER_DIR: join(REPO_ROOT, '.run/test-logs') },
      ],
      ['ui', 'ui/src/server.ts', { UI_PORT: String(ui) }],
      ['events', 'services/events/src/server.ts', { EVENTS_PORT: String(events) }],
    ];
    const byName = new Map<string, Started>();
    for (const [name, entry, env] of services) {
      const s = startProcess(entry, { ...common, ...env });
      started.push(s);
      byName.set(name, s);
    }
    for (const [name] of services) {
      await waitFor(async () => (await consul.client.instances(name, { passingOnly: true })).length === 1, {
        timeoutMs: 60_000,
        what: `${name} passing in consul (output: ${byName.get(name)?.output().slice(-500)})`,
      });
    }
    // The agent restarts and forgets every service (a dev agent keeps nothing): each one notices
    // within its check interval (10 s) and registers again, passing again.
    await consul.restart();
    expect(await consul.client.services()).not.toContain('media');
    for (const [name] of services) {
      await consul.passing(name, 1, 30_000);
      expect(byName.get(name)!.output()).toContain('registered again');
    }
    for (const [name] of services) {
      const s = byName.get(name)!;
      s.child.kill('SIGTERM');
      expect(await s.exit, `${name} exit code; output: ${s.output().slice(-500)}`).toBe(0);
      expect(await consul.client.instances(name), `${name} deregistered`).toEqual([]);
      expect(s.output()).toContain('deregistered from consul');
    }
  }, 180_000);

  it('exits with a readable message when the environment is wrong', async () => {
    const s = startProcess('services/gateway/src/server.ts', {
      CONSUL_HTTP_ADDR: consul.addr,
      JWT_SECRET: 'short',
      GATEWAY_PORT: 'eighty',
    });
    started.push(s);
    expect(await s.exit).toBe(78);
    expect(s.output()).toContain('gateway: invalid configuration:');
    expect(s.output()).toMatch(/GATEWAY_PORT: /);
    expect(s.output()).toMatch(/JWT_SECRET: must be at least 16 characters/);
  });

  it('refuses to start with a published default secret (the old compose default)', async () => {
    for (const path of ['services/gateway/src/server.ts', 'services/signaling/src/server.ts']) {
      const s = startProcess(path, {
        CONSUL_HTTP_ADDR: consul.addr,
        JWT_SECRET: 'change-me-to-a-long-random-secret',
      });
      started.push(s);
      expect(await s.exit, path).toBe(78);
      expect(s.output()).toMatch(/JWT_SECRET: is a published default; generate one/);
    }
  });

  it('media and signaling refuse to start without a service secret for the media API', async () => {
    for (const path of ['services/media/src/server.ts', 'services/signaling/src/server.ts']) {
      const s = startProcess(path, {
        CONSUL_HTTP_ADDR: consul.addr,
        JWT_SECRET: 'lifecycle-test-secret-0123456789',
        SERVICE_SECRET: 'changeme',
      });
      started.push(s);
      expect(await s.exit, path).toBe(78);
      expect(s.output()).toMatch(/SERVICE_SECRET: must be at least 16 characters/);
    }
  });
});
