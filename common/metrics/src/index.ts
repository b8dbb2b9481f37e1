/**
 * Prometheus metrics: one registry per process with prom-client's default metrics, labelled with
 * `service`. Labels never carry room or user ids (unbounded cardinality).
 */
import { readdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';

export { client };

/**
 * Default metrics a scrape would pay for per connection on the event loop: each walks every libuv
 * handle or resource (twice: by type and in total), and `process_open_fds` reads every descriptor
 * with a synchronous readdir. With 10,000 browser sockets a scrape held signaling's loop for tens
 * of milliseconds (`npm run bench -- scrape`). The services count their connections themselves
 * (e.g. `switchboard_signaling_sockets`), and `process_open_fds` is read off the loop below.
 */
export const PER_HANDLE_METRICS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'process_open_fds',
] as const;

export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  for (const name of PER_HANDLE_METRICS) {
    registry.removeSingleMetric(name);
  }
  if (process.platform === 'linux') {
    new client.Gauge({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      registers: [registry],
      // Read on libuv's thread pool: the loop only turns the names into strings (a few ms for 10,000).
      async collect() {
        try {
          // Less the descriptor the read itself had open.
          this.set((await readdir('/proc/self/fd')).length - 1);
        } catch {
          // No /proc (a sandbox): the gauge keeps its last value.
        }
      },
    });
  }
  return registry;
}

/** gRPC durations in seconds, bucketed for loopback (sub-millisecond) up to the deadline. */
export const GRPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Serves the registry at GET /metrics; returns false when the request is for something else. */
export async function serveMetrics(
  registry: client.Registry,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
    return false;
  }
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType });
  res.end(body);
  return true;
}

/** A gauge read at scrape time (no bookkeeping on the hot path). */
export function collectedGauge(
  registry: client.Registry,
  name: string,
  help: string,
  read: () => number,
): client.Gauge {
  return new client.Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
