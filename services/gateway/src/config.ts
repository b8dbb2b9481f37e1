/** The gateway's configuration: the only file of this service that reads process.env. */
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
  GATEWAY_HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: port(4000),
  GATEWAY_INSTANCE_ID: z.string().optional(),
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(600),
});

export interface GatewayConfig extends CommonConfig {
  host: string;
  port: number;
  instanceId?: string;
  databaseUrl: string;
  redisUrl: string;
  jwtSecret: string;
  tokenTtlSeconds: number;
}

export function readConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const c = loadConfig('gateway', schema, env);
  return {
    ...commonConfig(c),
    host: c.GATEWAY_HOST,
    port: c.GATEWAY_PORT,
    instanceId: c.GATEWAY_INSTANCE_ID,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    jwtSecret: c.JWT_SECRET,
    tokenTtlSeconds: c.TOKEN_TTL_SECONDS,
  };
}
