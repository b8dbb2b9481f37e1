/**
 * Config helpers. Each service's `src/config.ts` is the only place it reads `process.env`: it
 * declares a zod schema and calls loadConfig() once at startup, which exits with every problem
 * listed when the environment is wrong.
 */
import proxyAddr from '@fastify/proxy-addr';
import { z } from 'zod';

export class ConfigError extends Error {}

export function parseConfig<T extends z.ZodType>(
  schema: T,
  env: Record<string, string | undefined>,
): z.infer<T> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`,
    );
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Parses the environment or exits the process with a readable list of what is wrong. */
export function loadConfig<T extends z.ZodType>(
  service: string,
  schema: T,
  env: Record<string, string | undefined> = process.env,
): z.infer<T> {
  try {
    return parseConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** A TCP port from the environment; 0 means "any free port". */
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info');

/** The variables every service shares (their parsed values feed commonConfig()). */
export const commonEnv = {
  CONSUL_HTTP_ADDR: z.string().default('127.0.0.1:8500'),
  /** This service's Consul ACL token (the standard Consul variable); empty: anonymous. */
  CONSUL_HTTP_TOKEN: z.string().default(''),
  LOG_LEVEL: logLevel,
  LOG_DIR: z.string().default(''),
  /** The log file rotates past this size (a whole number and B, K, M or G). */
  LOG_MAX_SIZE: z
    .string()
    .regex(/^[1-9]\d*[BKMG]$/, 'a whole number and B, K, M or G, such as 10M')
    .default('10M'),
  /** Rotated log files kept besides the current one (`<file>.1` is the newest). */
  LOG_MAX_FILES: z.coerce.number().int().min(1).max(1000).default(5),
  /** The address this instance registers in Consul (what peers and Prometheus connect to). */
  ADVERTISE_HOST: z.string().default('127.0.0.1'),
};

/**
 * Secrets that appear in examples, templates and old defaults: anyone can read them, so a service
 * refuses to start with one.
 */
export const KNOWN_DEFAULT_SECRETS: readonly string[] = [
  'change-me-to-a-long-random-secret',
  'change-me',
  'changeme',
  'secret',
  'your-secret',
  'your-256-bit-secret',
  'supersecret',
  'switchboard',
  'development-secret',
];

/** A shared secret: long enough, and not one printed in some example. */
function sharedSecret(sharedBy: string) {
  return z
    .string()
    .min(16, `must be at least 16 characters (the same value in ${sharedBy})`)
    .refine(
      (value) => !KNOWN_DEFAULT_SECRETS.includes(value.toLowerCase()),
      'is a published default; generate one, e.g. `openssl rand -base64 48`',
    );
}

/** The variables of the services that keep state (signaling, gateway). */
export const backendEnv = {
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/switchboard'),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Signs (gateway) and verifies (signaling) join and access tokens. */
  JWT_SECRET: sharedSecret('gateway and signaling'),
};

/**
 * Signs (signaling) and verifies (media) the service tokens of the media gRPC API; a secret apart
 * from JWT_SECRET, so the gateway (or a leaked join-token key) cannot drive media nodes.
 */
export const serviceSecretEnv = {
  SERVICE_SECRET: sharedSecret('media and signaling'),
};

/**
 * Which proxies' forwarded headers (X-Forwarded-For, X-Forwarded-Proto) a service believes:
 * proxy-addr syntax (IPs, CIDRs, `loopback`, `linklocal`, `uniquelocal`), comma-separated; empty
 * or `none` believes nobody. Checked at start, so a typo is a clear error rather than a proxy
 * that is silently trusted (or not).
 */
export const trustedProxies = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value.trim() === '' || value.trim() === 'none'
        ? []
        : value
            .split(',')
            .map((part) => part.trim())
            .filter((part) => part !== ''),
    )
    .superRefine((list, ctx) => {
      try {
        proxyAddr.compile(list);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `not a proxy list (IPs, CIDRs, loopback, linklocal, uniquelocal; or none): ${(error as Error).message}`,
        });
      }
    });

/** The settings every service has, from the variables of `commonEnv`. */
export interface CommonConfig {
  consulAddr: string;
  /** The Consul ACL token ('' when ACLs are off). */
  consulToken: string;
  advertiseHost: string;
  logLevel: string;
  logDir: string;
  /** When the log file rotates. */
  logRotation: { size: string; files: number };
}

export function commonConfig(env: {
  CONSUL_HTTP_ADDR: string;
  CONSUL_HTTP_TOKEN: string;
  ADVERTISE_HOST: string;
  LOG_LEVEL: string;
  LOG_DIR: string;
  LOG_MAX_SIZE: string;
  LOG_MAX_FILES: number;
}): CommonConfig {
  return {
    consulAddr: env.CONSUL_HTTP_ADDR,
    consulToken: env.CONSUL_HTTP_TOKEN,
    advertiseHost: env.ADVERTISE_HOST,
    logLevel: env.LOG_LEVEL,
    logDir: env.LOG_DIR,
    logRotation: { size: env.LOG_MAX_SIZE, files: env.LOG_MAX_FILES },
  };
}
