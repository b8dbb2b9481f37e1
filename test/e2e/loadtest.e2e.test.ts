/**
 * `npm run loadtest` itself, small: it starts its own native stack, joins synthetic participants
 * through the real signaling path and the bare-mediasoup reference, and reports what both held
 * and the capacity ratio. Bad options get a clear error and the usage.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/Stack';

const loadtest = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'bench/loadtest/run.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
  });

describe('npm run loadtest', () => {
  it('explains itself and refuses bad options', () => {
    const help = loadtest('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--subscribers N');
    const bad = loadtest('--rooms', 'many');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--rooms must be a whole number');
  });

  it('holds every participant and consumer on our stack and on the reference, and reports the ratio', () => {
    const run = loadtest('--rooms', '1', '--publishers', '1', '--subscribers', '2', '--duration', '3');
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    // Per-second progress of both sides.
    expect(out).toMatch(/\[ours #1\] 3\/3s {2}participants 3\/3 {2}consumers 4 /);
    expect(out).toMatch(/\[reference #1\] 3\/3s {2}participants 3\/3 {2}consumers 4 /);
    for (const side of ['ours #1', 'reference #1']) {
      const summary = out
        .slice(out.indexOf(`--- ${side}`))
        .split('\n')
        .slice(0, 7)
        .join('\n');
      expect(summary).toMatch(/participants held\s+3\/3/);
      expect(summary).toMatch(/consumers held\s+4/);
      expect(summary).toMatch(/received\s+\d+\.\d+ Mbit\/s, [1-9]\d* packets/);
      expect(summary).toMatch(/join time\s+p50 \d+ ms {2}p99 \d+ ms {2}\(n=3\)/);
      expect(summary).toMatch(/errors\s+0/);
    }
    expect(out).toMatch(/run 1: ours \d+ {2}reference \d+ {2}ratio \d+\.\d\d/);
  }, 300_000);
});
