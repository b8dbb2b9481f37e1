/**
 * The native launcher's failure paths: a port already taken, or a component that cannot start,
 * is reported by name (with its last output lines) and nothing is left running.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testRedisUrl, waitFor } from '@switchboard/testing';
import { portOpen } from '../scripts/backends';
import { ROOT, Stack, type StackPorts } from '../scripts/Stack';

const PORTS: StackPorts = {
  http: 28080,
  https: 28443,
  consulHttp: 28500,
  consulDns: 28600,
  consulSerfLan: 28301,
  consulServer: 28300,
  consulGrpc: 28502,
  ui: 23000,
  gateway: 24000,
  signaling: 24100,
  signalingApi: 24150,
  logViewer: 24200,
  events: 24300,
  mediaGrpc: 25051,
  mediaMetrics: 29101,
  rtcMin: 32000,
  rtcMax: 32100,
  prometheus: 29090,
  alertmanager: 29093,
  grafana: 23001,
  turn: 23478,
  turnRelayMin: 23500,
  turnRelayMax: 23520,
};

const options = {
  runDir: join(ROOT, '.run/stack-test'),
  databaseUrl: testDatabaseUrl(),
  redisUrl: testRedisUrl(),
  prometheus: false,
  log: () => {},
};

describe('native stack launcher', () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it('names a port that is already taken and starts nothing', async () => {
    blocker = createServer().listen(PORTS.gateway, '127.0.0.1');
    await new Promise((r) => blocker!.once('listening', r));
    await expect(Stack.start({ ...options, ports: PORTS })).rejects.toThrow(
      `already in use: gateway port ${PORTS.gateway}`,
    );
    expect(await portOpen(PORTS.consulHttp)).toBe(false);
    blocker.close();
    blocker = undefined;
  });

  it('reports a component that fails to start with its last lines, and stops the rest', async () => {
    const error = await Stack.start({ ...options, ports: { ...PORTS, rtcMin: 45000, rtcMax: 44000 } }).catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^media failed to start: media exited with code 78/);
    expect((error as Error).message).toContain('MEDIA_RTC_MIN_PORT must not exceed MEDIA_RTC_MAX_PORT');
    expect(await portOpen(PORTS.consulHttp)).toBe(false);
  }, 60_000);

  it('restarts a service that crashes while running, and NGINX routes to it again', async () => {
    const stack = await Stack.start({ ...options, ports: PORTS, restart: true });
    try {
      const pid = stack.pid('gateway');
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, 'SIGKILL');
      await waitFor(() => stack.restartCount('gateway') === 1, { timeoutMs: 10_000, what: 'restart' });
      await waitFor(
        async () => {
          const response = await fetch(`${stack.url}/api/health`);
          return response.status === 200 && stack.pid('gateway') !== pid;
        },
        { timeoutMs: 60_000, what: 'gateway healthy again behind nginx' },
      );
    } finally {
      await stack.stop();
    }
    expect(await portOpen(PORTS.consulHttp)).toBe(false);
  }, 120_000);

  it("npm start's launcher prints the URL and stops everything it started on Ctrl-C", async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SWITCHBOARD_RUN_DIR: join(ROOT, '.run/launcher-test'),
      SWITCHBOARD_HTTP_PORT: String(PORTS.http),
      CONSUL_HTTP_PORT: String(PORTS.consulHttp),
      CONSUL_DNS_PORT: String(PORTS.consulDns),
      CONSUL_SERF_LAN_PORT: String(PORTS.consulSerfLan),
      CONSUL_SERVER_PORT: String(PORTS.consulServer),
      CONSUL_GRPC_PORT: String(PORTS.consulGrpc),
      UI_PORT: String(PORTS.ui),
      GATEWAY_PORT: String(PORTS.gateway),
      SIGNALING_PORT: String(PORTS.signaling),
      SIGNALING_API_PORT: String(PORTS.signalingApi),
      LOG_VIEWER_PORT: String(PORTS.logViewer),
      EVENTS_PORT: String(PORTS.events),
      MEDIA_GRPC_PORT: String(PORTS.mediaGrpc),
      MEDIA_METRICS_PORT: String(PORTS.mediaMetrics),
      MEDIA_RTC_MIN_PORT: String(PORTS.rtcMin),
      MEDIA_RTC_MAX_PORT: String(PORTS.rtcMax),
      PROMETHEUS_PORT: String(PORTS.prometheus),
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: testRedisUrl(),
    };
    const launcher = spawn(process.execPath, ['--import', 'tsx', 'scripts/launcher.ts'], { cwd: ROOT, env });
    let output = '';
    launcher.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    launcher.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', resolve));
    await waitFor(() => output.includes('Switchboard is running'), {
      timeoutMs: 90_000,
      what: `the URL (${output})`,
    });
    expect(output).toContain(`Switchboard is running: http://localhost:${PORTS.http}`);
    expect((await fetch(`http://localhost:${PORTS.http}/api/health`)).status).toBe(200);
    launcher.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped');
    for (const port of [
      PORTS.http,
      PORTS.consulHttp,
      PORTS.ui,
      PORTS.gateway,
      PORTS.signaling,
      PORTS.signalingApi,
      PORTS.logViewer,
      PORTS.events,
      PORTS.mediaGrpc,
      PORTS.prometheus,
    ]) {
      expect(await portOpen(port), `port ${port} closed`).toBe(false);
    }
  }, 150_000);
});
