/**
 * Pinning benchmark processes to cores (`taskset`), so what is measured has a core of its own and
 * the load generator, databases and the rest share the other: the machine's contention then
 * shows up in the generator, not in the figure.
 */
import { execFileSync } from 'node:child_process';

/** Pins `pid` and all its threads to `core` (children it starts later inherit it). */
export function pinToCore(pid: number, core: number): void {
  execFileSync('taskset', ['-apc', String(core), String(pid)], { stdio: 'ignore' });
}

/** Pins every process whose command line matches `pattern` (pgrep -f) to `core`; how many. */
export function pinMatching(pattern: string, core: number): number {
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

/** Pins the local Postgres and Redis servers (and the backends Postgres forks later) to `core`. */
export function pinStores(core: number): number {
  return pinMatching('^(/usr/lib/postgresql/|postgres: |(/usr/bin/)?redis-server)', core);
}
