import { createConnection, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, PER_HANDLE_METRICS } from './index';

/** A metric's value in the exposition text (the first sample of that name). */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('createRegistry', () => {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));

  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.destroy());
    if (server.listening) {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('has no metric that walks every handle or resource, and labels everything with the service', async () => {
    const text = await createRegistry('probe').metrics();
    for (const name of PER_HANDLE_METRICS.filter((n) => n !== 'process_open_fds')) {
      expect(sample(text, name), name).toBeUndefined();
    }
    expect(text).toContain('nodejs_eventloop_lag_seconds{service="probe"}');
    expect(text).toContain('process_cpu_seconds_total{service="probe"}');
  });

  it.runIf(process.platform === 'linux')('counts open descriptors, read off the event loop', async () => {
    const registry = createRegistry('probe');
    const before = sample(await registry.metrics(), 'process_open_fds');
    expect(before).toBeGreaterThan(0);
    // 50 real connections: 100 more descriptors (both ends are in this process).
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    for (let i = 0; i < 50; i++) {
      sockets.push(
        await new Promise<Socket>((resolve) => {
          const socket = createConnection(port, '127.0.0.1', () => resolve(socket));
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = sample(await registry.metrics(), 'process_open_fds');
    // Other descriptors may come and go meanwhile (the test runner's own): within a few.
    expect(after! - before!).toBeGreaterThanOrEqual(95);
    expect(after! - before!).toBeLessThanOrEqual(110);
  });
});
