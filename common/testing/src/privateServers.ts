/**
 * Private PostgreSQL and Redis servers for tests that stop and restart them (outages), so the
 * shared servers other suites use stay up. Built from the machine's own binaries (Debian's
 * postgresql and redis-server packages, which the test script installs). PostgreSQL refuses to run
 * as root: as root, its cluster belongs to, and runs as, the `postgres` user.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, waitFor } from './index';

export interface PrivateServer {
  url: string;
  /** Stops it abruptly (like a crash: no goodbye to clients). */
  stop(): Promise<void>;
  /** Starts it again on the same port (with the same data, if it keeps any). */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  const bin = version ? join(root, version, 'bin', name) : '';
  if (!bin || !existsSync(bin)) {
    throw new Error(`PostgreSQL's ${name} was not found under ${root}: install the postgresql package`);
  }
  return bin;
}

/** Runs a PostgreSQL tool, as `postgres` when we are root. */
function pgTool(name: string, args: string[]): void {
  const bin = postgresBin(name);
  const [command, argv] =
    process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(command, argv, { stdio: 'pipe' });
}

export async function startPrivatePostgres(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  pgTool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const server: PrivateServer = {
    url,
    async start() {
      pgTool('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        '-w',
        'start',
      ]);
    },
    async stop() {
      // `immediate`: no checkpoint, clients cut off; the next start recovers from the WAL.
      pgTool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    async close() {
      await server.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** True when a Redis server answers PING on the port. */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      resolve(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A private Redis. `persistent` (the default): every write on disk before it is answered, so a
 * restart keeps what it had; without it, like Redis's default without snapshots, a restart comes
 * back empty.
 */
export async function startPrivateRedis({ persistent = true } = {}): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: PrivateServer = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const durability = persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : [];
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...durability, '--dir', dir],
        { stdio: 'ignore' },
      );
      await waitFor(() => redisPing(port), { timeoutMs: 10_000, what: `redis on port ${port}` });
    },
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child?.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    },
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
