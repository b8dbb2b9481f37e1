import { PermissionDeniedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import type { ConsulClient, ServiceRegistration } from './ConsulClient';

export interface Registration {
  readonly id: string;
  /** Replaces the registration's meta (registering again when it changed; checks keep their state). */
  updateMeta(meta: Record<string, string>): Promise<void>;
  /** Removes the instance from Consul; idempotent, never throws. */
  deregister(): Promise<void>;
}

/** How often a registration is checked (and made again when the agent lost it). */
const KEEP_EVERY_MS = 10_000;

/**
 * Registers an instance, retrying for a while when the agent is not up yet (services may start
 * before Consul answers). Throws when Consul stays unreachable for `timeoutMs`. Then keeps it:
 * every `keepEveryMs` it checks that the agent still has it and registers again when not (an
 * agent restarted without its data, a dev agent, forgets every service).
 */
export async function registerService(
  consul: ConsulClient,
  registration: ServiceRegistration,
  logger: Logger,
  options: { timeoutMs?: number; keepEveryMs?: number } = {},
): Promise<Registration> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await consul.register(registration);
      break;
    } catch (error) {
      // A token that may not register this service will not be allowed later either.
      if (Date.now() > deadline || error instanceof PermissionDeniedError) {
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
  /** What is registered now (meta changes with updateMeta). */
  const kept: ServiceRegistration = { ...registration };
  let done = false;
  /** The check running now (deregistering waits for it, so it cannot register again after). */
  let checking: Promise<void> | undefined;
  /** Meta updates being sent (likewise: one landing after the deregistration would revive it). */
  const updating = new Set<Promise<void>>();
  const check = async () => {
    try {
      if (!(await consul.isRegistered(kept.id)) && !done) {
        await consul.register(kept);
        logger.warn(
          { consulId: registration.id },
          'consul had lost this registration (agent restarted?); registered again',
        );
      }
    } catch {
      // The agent is down for now: the next check tries again.
    }
  };
  const keeper = setInterval(() => {
    checking ??= check().finally(() => {
      checking = undefined;
    });
  }, options.keepEveryMs ?? KEEP_EVERY_MS);
  keeper.unref();
  return {
    id: registration.id,
    async updateMeta(meta) {
      if (done || JSON.stringify(meta) === JSON.stringify(kept.meta ?? {})) {
        return;
      }
      kept.meta = meta;
      const update = consul.register(kept);
      updating.add(update);
      try {
        await update;
      } finally {
        updating.delete(update);
      }
    },
    async deregister() {
      if (done) {
        return;
      }
      done = true;
      clearInterval(keeper);
      await checking;
      await Promise.allSettled(updating);
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
  opts: {
    name: string;
    instanceId?: string;
    advertiseHost: string;
    port: number;
    tags?: string[];
    keepEveryMs?: number;
  },
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
    { keepEveryMs: opts.keepEveryMs },
  );
}
