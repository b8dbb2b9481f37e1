/**
 * Log files rotate by size and count (rotating-file-stream under the real logger), and the log
 * viewer's tail follows each rotation: every line logged is read once, none lost at the moment a
 * file is renamed away and a new one starts, and no more than the configured files stay on disk.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@switchboard/logger';
import { waitFor } from '@switchboard/testing';
import { LogStore } from '../src/LogStore';

describe('log rotation (real logger files, the log viewer tailing them)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-logrotate-'));
  const SIZE = 8 * 1024;
  const FILES = 2;
  const root = createLogger({
    service: 'signaling',
    dir,
    stdout: false,
    instance: 'rot',
    rotation: { size: `${SIZE / 1024}K`, files: FILES },
  });
  let store: LogStore | undefined;

  afterAll(() => store?.close());

  it('rotates past the size, keeps the configured count, and the viewer reads every line once', async () => {
    store = await LogStore.create({ dir, capacity: 100_000, intervalMs: 20 });
    const padding = 'x'.repeat(120);
    const bursts = 16;
    // ~5 KB a burst (a line is ~250 bytes): about every other burst crosses a rotation, never two.
    const perBurst = 20;
    let logged = 0;
    for (let burst = 0; burst < bursts; burst++) {
      for (let i = 0; i < perBurst; i++) {
        root.logger.info({ n: logged++, padding }, 'rotation line');
      }
      await root.flush();
      // At a pace where each file lives through at least one of the viewer's polls, as 10M files do
      // (one renamed away twice before the viewer ever opened it would be missed).
      const expected = logged;
      await waitFor(() => store!.search({ q: 'rotation line' }, 100_000).length >= expected, {
        timeoutMs: 5000,
        what: `${expected} lines in the viewer`,
      });
    }
    const seen = store.search({ q: 'rotation line' }, 100_000).map((e) => e.data.n as number);
    expect(seen.length).toBe(logged);
    expect(new Set(seen).size).toBe(logged);
    expect(Math.min(...seen)).toBe(0);
    expect(Math.max(...seen)).toBe(logged - 1);

    const files = readdirSync(dir).sort();
    expect(files).toEqual(['signaling-rot.log', 'signaling-rot.log.1', 'signaling-rot.log.2']);
    for (const file of files) {
      // A file is rotated after the write that crossed the size: at most one line beyond it.
      expect(statSync(join(dir, file)).size, file).toBeLessThan(SIZE + 400);
    }
    // ~80 KB written, at most 3 files of 8 KB kept: the oldest were dropped.
    const kept = files.map((file) => readFileSync(join(dir, file), 'utf8').trim().split('\n').length);
    expect(kept.reduce((a, b) => a + b, 0)).toBeLessThan(logged / 2);
  });
});
