/**
 * Benchmark servers as processes of their own (not sharing the load generator's event loop):
 * started with tsx, optionally profiled (BENCH_CPU_PROF=<dir>) or with Node flags
 * (BENCH_NODE_FLAGS), stopped with SIGTERM and, after a while, SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '@switchboard/testing';

/** Starts a child process; with `ready`, resolves once it prints a matching line, else at once. */
export function startProcess(
  args: string[],
  env: Record<string, string>,
  ready?: RegExp,
): Promise<{ child: ChildProcess; line: string }> {
  // BENCH_CPU_PROF=<dir>: the servers write V8 CPU profiles there when they stop.
  // BENCH_NODE_FLAGS (e.g. --trace-gc): passed to the servers, whose output is then shown.
  const prof = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const flags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...prof, ...flags, '--import', 'tsx', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    // Without `ready`, its output goes nowhere (the service logs as in production, unread).
    stdio: ['ignore', ready ? 'pipe' : flags.length > 0 ? 'inherit' : 'ignore', 'inherit'],
  });
  if (!ready) {
    return Promise.resolve({ child, line: '' });
  }
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let started = false;
    lines.on('line', (line) => {
      if (started) {
        // With BENCH_NODE_FLAGS its output is shown (and must be read: a full pipe would stop it).
        process.stdout.write(`${line}\n`);
      } else if (ready.test(line)) {
        started = true;
        if (flags.length === 0) {
          lines.close();
        }
        resolve({ child, line });
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    // A profiled server is slower to say goodbye to its peers, and writes its profile only if it exits.
    const patience = process.env.BENCH_CPU_PROF ? 300_000 : 10_000;
    await Promise.race([exited, new Promise((r) => setTimeout(r, patience))]);
    child.kill('SIGKILL');
  }
}
