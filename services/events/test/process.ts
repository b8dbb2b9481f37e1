/** The events service as its own process for the tests (so they can SIGKILL and restart it). */
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT, waitFor, type ConsulAgent } from '@switchboard/testing';

export interface EventsProcess {
  child: ChildProcess;
  /** Everything it printed so far. */
  output: () => string;
  exit: Promise<number | null>;
}

/** Starts services/events/src/server.ts against these backends, with `env` on top. */
export function startEventsProcess(
  backends: { consulAddr: string; databaseUrl: string; redisUrl: string; port: number },
  env: Record<string, string>,
): EventsProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/events/src/server.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CONSUL_HTTP_ADDR: backends.consulAddr,
      DATABASE_URL: backends.databaseUrl,
      REDIS_URL: backends.redisUrl,
      EVENTS_PORT: String(backends.port),
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output: () => output, exit };
}

/** Waits until one events instance passes its Consul check. */
export async function passingInConsul(
  consul: ConsulAgent,
  service: EventsProcess | undefined,
): Promise<void> {
  await waitFor(async () => (await consul.client.instances('events', { passingOnly: true })).length === 1, {
    timeoutMs: 60_000,
    what: `the events service passing in Consul (${service?.output().slice(-800)})`,
  });
}
