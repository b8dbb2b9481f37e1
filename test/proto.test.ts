/**
 * The committed generated stubs are exactly what `npm run proto` produces, and the proto passes
 * `buf lint` (STANDARD). Runs the real buf binary and ts-proto plugin into a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@switchboard/testing';

const BIN = join(REPO_ROOT, 'node_modules/.bin');
const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}` };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('proto contract', () => {
  const out = mkdtempSync(join(tmpdir(), 'sb-proto-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('passes buf lint', () => {
    expect(() =>
      execFileSync(join(BIN, 'buf'), ['lint'], { cwd: REPO_ROOT, env, stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('regenerates to exactly the committed stubs', () => {
    execFileSync(join(BIN, 'buf'), ['generate', '--output', out], { cwd: REPO_ROOT, env, stdio: 'pipe' });
    const generated = join(out, 'common/proto/src/gen');
    execFileSync(
      join(BIN, 'prettier'),
      ['--config', join(REPO_ROOT, '.prettierrc.json'), '--log-level', 'warn', '--write', generated],
      {
        env,
        stdio: 'pipe',
      },
    );
    const committed = join(REPO_ROOT, 'common/proto/src/gen');
    const list = (dir: string) =>
      files(dir)
        .map((f) => relative(dir, f))
        .sort();
    expect(list(generated)).toEqual(list(committed));
    for (const file of list(committed)) {
      expect(readFileSync(join(generated, file), 'utf8'), `${file} differs: run npm run proto`).toBe(
        readFileSync(join(committed, file), 'utf8'),
      );
    }
  });
});
