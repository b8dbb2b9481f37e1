import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuSecondsOfProcesses } from './cpu';

describe('cpuSecondsOfProcesses', () => {
  it('counts a busy child under this process, and nothing under a process that has none', async () => {
    const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 600; while (Date.now() < end);']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const mine = cpuSecondsOfProcesses('node', { under: process.pid });
    const childless = cpuSecondsOfProcesses('node', { under: child.pid });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(mine).toBeGreaterThanOrEqual(0.2);
    expect(childless).toBe(0);
  });
});
