import type { Logger } from '@switchboard/logger';
import type { ConsulClient, ServiceRegistration } from './ConsulClient';

export interface Registration {
  readonly id: string;
  /** Removes the instance from Consul; idempotent, never throws. */
  deregister(): Promise<void>;
}

/**
 * Registers an instance, retrying for a while when the agent is not up yet (services may start
 * before Consul answers). Throws when Consul stays unreachable for `timeoutMs`.
 */
export async function registerService(
  consul: ConsulClient,
  registration: ServiceRegistration,
  logger: Logger,
  options: { timeoutMs?: number } = {},
): Promise<Registration> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await consul.register(registration);
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        throw error;
      }
      if (attempt === 1) {
        logger.warn({ err: error }, 'consul registration failed; retrying');
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  logger.info(
    { consulId: registration.id, address: `${registration.address}:${registration.port}` },
    'registered in consul',
  );
  let done = false;
  return {
    id: registration.id,
    async deregister() {
      if (done) {
        return;
      }
      done = true;
      try {
        await consul.deregister(registration.id);
        logger.info({ consulId: registration.id }, 'deregistered from consul');
      } catch (error) {
        logger.warn({ err: error, consulId: registration.id }, 'consul deregistration failed');
      }
    },
  };
}

/**
 * The registration of an HTTP service: id `<name>-<host>-<port>` unless given, health check
 * GET /healthz every 2 s, and its /metrics on the same port (meta `metrics_port`).
 */
export function registerHttpService(
  consul: ConsulClient,
  opts: { name: string; instanceId?: string; advertiseHost: string; port: number; tags?: string[] },
  logger: Logger,
): Promise<Registration> {
  const { name, advertiseHost, port } = opts;
  return registerService(
    consul,
    {
      id: opts.instanceId ?? `${name}-${advertiseHost}-${port}`,
      name,
      address: advertiseHost,
      port,
      tags: ['http', 'switchboard', ...(opts.tags ?? [])],
      meta: { metrics_port: String(port) },
      check: { http: `http://${advertiseHost}:${port}/healthz`, interval: '2s' },
    },
    logger,
  );
}
