/**
 * PostgreSQL and Redis for the native stack and the tests: use what the URL points to; when it is
 * the local default and nothing answers, start the locally installed server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { ensureDatabase } from '@switchboard/db';

export class StackError extends Error {}

const LOCAL_HOSTS = ['127.0.0.1', 'localhost', '::1'];
const ROOT_DIR = resolve(import.meta.dirname, '..');

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolvePort(false);
    });
  });
}

export async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A StackError means "stop waiting" (the process died); anything else means "not yet".
    const value = await check().catch((error: unknown) => {
      if (error instanceof StackError) {
        throw error;
      }
      return undefined;
    });
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new StackError(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function which(binary: string, extra: string[] = []): string | undefined {
  for (const candidate of extra) {
    if (candidate && existsSync(candidate)) {
      return candidate;
    }
  }
  const result = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

interface EnsureOptions {
  /** The URL was given by the user: never start anything, just report. */
  explicit: boolean;
  log: (line: string) => void;
}

export async function ensurePostgres(databaseUrl: string, options: EnsureOptions): Promise<void> {
  const url = new URL(databaseUrl);
  const port = Number(url.port || 5432);
  if (!(await portOpen(port, url.hostname)) && LOCAL_HOSTS.includes(url.hostname) && !options.explicit) {
    const version = spawnSync('sh', ['-c', 'ls /etc/postgresql 2>/dev/null | sort -n | tail -1'], {
      encoding: 'utf8',
    }).stdout.trim();
    if (version) {
      options.log(`==> starting local PostgreSQL ${version}`);
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], {
        stdio: 'ignore',
      });
      await until('PostgreSQL to accept connections', 30_000, () => portOpen(port, url.hostname));
    }
  }
  try {
    await ensureDatabase(databaseUrl);
  } catch (error) {
    throw new StackError(
      `PostgreSQL at ${url.host} is not usable (${(error as Error).message}). Set DATABASE_URL or install postgresql.`,
    );
  }
}

export async function ensureRedis(redisUrl: string, options: EnsureOptions): Promise<void> {
  const url = new URL(redisUrl);
  const port = Number(url.port || 6379);
  if (await portOpen(port, url.hostname)) {
    return;
  }
  const server = which('redis-server');
  if (!LOCAL_HOSTS.includes(url.hostname) || options.explicit || !server) {
    throw new StackError(`Redis at ${url.host} does not answer. Set REDIS_URL or install redis-server.`);
  }
  // Append-only file: removals, revoked sessions and sign-in locks must survive a Redis restart.
  const dir = join(ROOT_DIR, '.run/redis');
  mkdirSync(dir, { recursive: true });
  options.log(`==> starting local Redis (append-only file in ${dir})`);
  spawnSync(
    server,
    [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  await until('Redis to accept connections', 15_000, () => portOpen(port, url.hostname));
}
