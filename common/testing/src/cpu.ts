/**
 * CPU time from /proc, for benchmarks and tests that measure what a process spent (steadier than
 * wall time on a shared machine).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ on Linux: /proc counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** A process's name, parent and CPU seconds so far (user + system), or undefined when it is gone. */
function readStat(pid: number | string): { name: string; ppid: number; seconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return {
      name: stat.slice(stat.indexOf('(') + 1, close),
      ppid: Number(fields[1]),
      seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND, // utime, stime
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds a process has used so far (user + system), or undefined when it is not here. */
export function cpuSeconds(pid: number): number | undefined {
  return readStat(pid)?.seconds;
}

/**
 * CPU seconds every process whose name starts with `prefix` has used so far (e.g. `chrom`); with
 * `under`, only those descending from that process (one browser this process launched, not
 * another's).
 */
export function cpuSecondsOfProcesses(prefix: string, options: { under?: number } = {}): number {
  const stats = new Map<number, NonNullable<ReturnType<typeof readStat>>>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const stat = readStat(pid);
    if (stat) {
      stats.set(Number(pid), stat);
    }
  }
  const descends = (pid: number): boolean => {
    for (let at = stats.get(pid)?.ppid; at !== undefined && at > 1; at = stats.get(at)?.ppid) {
      if (at === options.under) {
        return true;
      }
    }
    return false;
  };
  let seconds = 0;
  for (const [pid, stat] of stats) {
    if (stat.name.startsWith(prefix) && (options.under === undefined || descends(pid))) {
      seconds += stat.seconds;
    }
  }
  return seconds;
}
