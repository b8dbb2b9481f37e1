/** The gateway's configuration: the only file of this service that reads process.env. */
import { z } from 'zod';
import { MAX_ACCESS_TTL_SECONDS } from '@switchboard/auth';
import {
  backendEnv,
  commonConfig,
  commonEnv,
  loadConfig,
  port,
  trustedProxies,
  type CommonConfig,
} from '@switchboard/config';

export const configSchema = z.object({
  ...commonEnv,
  ...backendEnv,
  GATEWAY_HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: port(4000),
  GATEWAY_INSTANCE_ID: z.string().optional(),
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(600),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(MAX_ACCESS_TTL_SECONDS).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(365 * 86_400)
    .default(30 * 86_400),
  /** Comma-separated emails that are operators (besides the account that used the setup code). */
  SWITCHBOARD_OPERATOR_EMAILS: z.string().default(''),
  /** Also write the one-time operator setup code here (npm start prints it). */
  SWITCHBOARD_SETUP_CODE_FILE: z.string().default(''),
  /** Which proxies' X-Forwarded-For to believe (proxy-addr syntax: IPs, CIDRs, loopback, uniquelocal). */
  GATEWAY_TRUST_PROXY: trustedProxies('loopback,uniquelocal'),
  /** REST requests per client address per minute (every /api/ route). */
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** Register / login / refresh requests per client address per minute. */
  AUTH_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Failed sign-ins in a row before an address is locked out (accounts: 5). */
  LOGIN_IP_LOCK_THRESHOLD: z.coerce.number().int().min(1).default(20),
  LOGIN_ACCOUNT_LOCK_THRESHOLD: z.coerce.number().int().min(1).default(100),
  /** coturn's `static-auth-secret`: join tokens come with TURN credentials signed with it. */
  TURN_SECRET: z
    .string()
    .optional()
    .transform((value) => value || undefined)
    .pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  /** How long TURN credentials work (a call longer than this cannot renew its relay). */
  TURN_CREDENTIAL_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(12 * 3600),
});

export interface GatewayConfig extends CommonConfig {
  host: string;
  port: number;
  instanceId?: string;
  databaseUrl: string;
  redisUrl: string;
  jwtSecret: string;
  tokenTtlSeconds: number;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  operatorEmails: string[];
  setupCodeFile?: string;
  /** Proxies whose X-Forwarded-For / -Proto are believed (proxy-addr list; empty: none). */
  trustProxy: string[];
  apiRatePerMinute: number;
  authRatePerMinute: number;
  loginIpLockThreshold: number;
  loginAccountLockThreshold: number;
  /** Unset: no TURN servers are handed out. */
  turnSecret?: string;
  turnTtlSeconds: number;
}

export function readConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const c = loadConfig('gateway', configSchema, env);
  return {
    ...commonConfig(c),
    host: c.GATEWAY_HOST,
    port: c.GATEWAY_PORT,
    instanceId: c.GATEWAY_INSTANCE_ID,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    jwtSecret: c.JWT_SECRET,
    tokenTtlSeconds: c.TOKEN_TTL_SECONDS,
    accessTtlSeconds: c.ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlSeconds: c.REFRESH_TOKEN_TTL_SECONDS,
    setupCodeFile: c.SWITCHBOARD_SETUP_CODE_FILE || undefined,
    operatorEmails: c.SWITCHBOARD_OPERATOR_EMAILS.split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
    trustProxy: c.GATEWAY_TRUST_PROXY,
    apiRatePerMinute: c.API_RATE_LIMIT_PER_MINUTE,
    authRatePerMinute: c.AUTH_RATE_LIMIT_PER_MINUTE,
    loginIpLockThreshold: c.LOGIN_IP_LOCK_THRESHOLD,
    loginAccountLockThreshold: c.LOGIN_ACCOUNT_LOCK_THRESHOLD,
    turnSecret: c.TURN_SECRET,
    turnTtlSeconds: c.TURN_CREDENTIAL_TTL_SECONDS,
  };
}
