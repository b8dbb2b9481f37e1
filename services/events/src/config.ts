/** The events service's configuration: the only file of this service that reads process.env. */
import { z } from 'zod';
import { commonConfig, commonEnv, loadConfig, port, type CommonConfig } from '@switchboard/config';

const schema = z.object({
  ...commonEnv,
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/switchboard'),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  EVENTS_HOST: z.string().default('127.0.0.1'),
  /** Its health and metrics (it serves nothing else over HTTP). */
  EVENTS_PORT: port(4300),
  /** Consul service id, and this consumer's name in each consumer group: keep it across restarts. */
  EVENTS_INSTANCE_ID: z.string().optional(),
  /** A room empty for less than this goes on as the same call when people come back (ms). */
  EVENTS_CALL_REOPEN_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** Another consumer's event pending this long (it died) is taken over (ms). */
  EVENTS_CLAIM_IDLE_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** One webhook attempt's deadline (ms): connecting, sending, the answer's status. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** The wait after a webhook delivery's first failure (ms); doubled after each further one. */
  WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(2000),
  /** The longest wait between two attempts (ms). */
  WEBHOOK_MAX_BACKOFF_MS: z.coerce.number().int().min(10).max(86_400_000).default(900_000),
  /** Attempts before a delivery is given up (default: about 2.5 hours of retrying). */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(16),
});

export interface EventsConfig extends CommonConfig {
  host: string;
  port: number;
  instanceId: string;
  databaseUrl: string;
  redisUrl: string;
  reopenMs: number;
  claimIdleMs: number;
  webhooks: { timeoutMs: number; backoffMs: number; maxBackoffMs: number; maxAttempts: number };
}

export function readConfig(env: Record<string, string | undefined> = process.env): EventsConfig {
  const c = loadConfig('events', schema, env);
  return {
    ...commonConfig(c),
    host: c.EVENTS_HOST,
    port: c.EVENTS_PORT,
    instanceId: c.EVENTS_INSTANCE_ID ?? `events-${c.ADVERTISE_HOST}-${c.EVENTS_PORT}`,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    reopenMs: c.EVENTS_CALL_REOPEN_MS,
    claimIdleMs: c.EVENTS_CLAIM_IDLE_MS,
    webhooks: {
      timeoutMs: c.WEBHOOK_TIMEOUT_MS,
      backoffMs: c.WEBHOOK_BACKOFF_MS,
      maxBackoffMs: c.WEBHOOK_MAX_BACKOFF_MS,
      maxAttempts: c.WEBHOOK_MAX_ATTEMPTS,
    },
  };
}
