/**
 * Pinning benchmark processes to cores (`taskset`), so what is measured has a core of its own and
 * the load generator, databases and the rest share the other: the machine's contention then
 * shows up in the generator, not in the figure.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/** Pins `pid` and all its threads to `core` (a taskset list: 1, 0-1); its later children inherit it. */
export function pinToCore(pid: number, core: number | string): void {
  execFileSync('taskset', ['-apc', String(core), String(pid)], { stdio: 'ignore' });
}

/**
 * Pins only the main thread of `pid` to `core` and its other threads (V8's GC and compiler
 * helpers, libuv's pool) to `rest`: the event loop has a core of its own, as it would have on a
 * machine with more cores, while V8's concurrent marking runs beside it instead of taking turns
 * with it. Threads started later inherit the affinity of the thread that starts them: call again
 * once the process has warmed up.
 */
export function pinMainThread(pid: number, core: number, rest: number | string): void {
  execFileSync('taskset', ['-apc', String(rest), String(pid)], { stdio: 'ignore' });
  execFileSync('taskset', ['-pc', String(core), String(pid)], { stdio: 'ignore' });
}

/** Pins every process whose command line matches `pattern` (pgrep -f) to `core`; how many. */
export function pinMatching(pattern: string, core: number | string): number {
  let pids: number[] = [];
  try {
    pids = execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    // pgrep exits 1 when nothing matches.
  }
  for (const pid of pids) {
    pinToCore(pid, core);
  }
  return pids.length;
}

const STORES = '^(/usr/lib/postgresql/|postgres: |(/usr/bin/)?redis-server)';

/**
 * Pins the local Postgres and Redis servers (and the backends Postgres forks later) to `core`.
 * They are the machine's, not the bench's: `unpinStores` when done.
 */
export function pinStores(core: number): number {
  return pinMatching(STORES, core);
}

/** Lets Postgres and Redis run on every core again (tests after a bench would share one core). */
export function unpinStores(): void {
  pinMatching(STORES, `0-${cpus().length - 1}`);
}
