import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveMetrics, type client } from '@switchboard/metrics';

/** A service's health: `ok` decides 200 or 503; the rest is shown as it is (why it is not ok). */
export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

/**
 * The operations endpoints every service answers: GET /metrics (Prometheus) and GET /healthz
 * (200 or 503 with the health as JSON, so Consul and Docker see a dead dependency). Returns false
 * for any other request, which the service then handles itself.
 */
export async function serveOps(
  registry: client.Registry,
  req: IncomingMessage,
  res: ServerResponse,
  health: () => Health,
): Promise<boolean> {
  if (await serveMetrics(registry, req, res)) {
    return true;
  }
  if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/healthz') {
    return false;
  }
  const { ok, ...detail } = health();
  res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...detail }));
  return true;
}
