/** The signaling service's configuration: the only file of this service that reads process.env. */
import { z } from 'zod';
import {
  backendEnv,
  commonConfig,
  commonEnv,
  loadConfig,
  port,
  type CommonConfig,
} from '@switchboard/config';

const schema = z.object({
  ...commonEnv,
  ...backendEnv,
  SIGNALING_HOST: z.string().default('127.0.0.1'),
  SIGNALING_PORT: port(4100),
  SIGNALING_INSTANCE_ID: z.string().optional(),
  MEDIA_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** How often this instance proves it is alive; its peers count as gone after 3 missed beats. */
  SIGNALING_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** Comma-separated browser origins allowed to connect; empty allows same-origin only via NGINX. */
  SIGNALING_CORS_ORIGINS: z.string().default(''),
});

export interface SignalingConfig extends CommonConfig {
  host: string;
  port: number;
  instanceId?: string;
  databaseUrl: string;
  redisUrl: string;
  jwtSecret: string;
  mediaRpcTimeoutMs: number;
  heartbeatMs: number;
  corsOrigins: string[];
}

export function readConfig(env: Record<string, string | undefined> = process.env): SignalingConfig {
  const c = loadConfig('signaling', schema, env);
  return {
    ...commonConfig(c),
    host: c.SIGNALING_HOST,
    port: c.SIGNALING_PORT,
    instanceId: c.SIGNALING_INSTANCE_ID,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    jwtSecret: c.JWT_SECRET,
    mediaRpcTimeoutMs: c.MEDIA_RPC_TIMEOUT_MS,
    heartbeatMs: c.SIGNALING_HEARTBEAT_MS,
    corsOrigins: c.SIGNALING_CORS_ORIGINS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}
