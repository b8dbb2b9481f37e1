/**
 * Prometheus metrics: one registry per process with prom-client's default metrics, labelled with
 * `service`. Labels never carry room or user ids (unbounded cardinality).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';

export { client };

export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
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
