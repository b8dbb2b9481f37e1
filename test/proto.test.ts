/**
 * The committed generated stubs and OpenAPI document are exactly what `npm run proto` produces, the proto passes
 * `buf lint` (STANDARD), and it grows backward compatibly: `buf breaking` (FILE rules) against
 * the proto as it was before its latest change. Runs the real buf binary and ts-proto plugin.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: 'pipe' }).trim();
}

/**
 * The commit whose proto the current one must stay compatible with: HEAD while proto/ has
 * uncommitted changes, else the parent of the last commit that changed proto/.
 */
function baselineCommit(): string {
  const uncommitted =
    spawnSync('git', ['diff', '--quiet', 'HEAD', '--', 'proto'], { cwd: REPO_ROOT }).status !== 0;
  if (uncommitted) {
    return git('rev-parse', 'HEAD');
  }
  const lastChange = git('log', '-n', '1', '--format=%H', '--', 'proto');
  return git('rev-parse', `${lastChange}~1`);
}

/** `buf breaking` of the module in `dir` against the one in `against`; its output, or throws it. */
function bufBreaking(dir: string, against: string): void {
  const result = spawnSync(join(BIN, 'buf'), ['breaking', '--against', against], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`buf breaking failed:\n${result.stdout}${result.stderr}`);
  }
}

describe('proto contract', () => {
  const out = mkdtempSync(join(tmpdir(), 'sb-proto-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('passes buf lint', () => {
    expect(() =>
      execFileSync(join(BIN, 'buf'), ['lint'], { cwd: REPO_ROOT, env, stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('stays backward compatible with the proto before its latest change (buf breaking)', () => {
    const commit = baselineCommit();
    const before = mkdtempSync(join(tmpdir(), 'sb-proto-before-'));
    try {
      const archive = execFileSync('git', ['archive', '--format=tar', commit, 'proto', 'buf.yaml'], {
        cwd: REPO_ROOT,
        maxBuffer: 64 * 1024 * 1024,
      });
      execFileSync('tar', ['-x', '-C', before], { input: archive });
      console.info(`buf breaking against ${commit.slice(0, 10)}`);
      expect(() => bufBreaking(REPO_ROOT, before)).not.toThrow();
    } finally {
      rmSync(before, { recursive: true, force: true });
    }
  });

  it('would refuse a breaking change (a field renumbered)', () => {
    const changed = mkdtempSync(join(tmpdir(), 'sb-proto-changed-'));
    try {
      cpSync(join(REPO_ROOT, 'proto'), join(changed, 'proto'), { recursive: true });
      cpSync(join(REPO_ROOT, 'buf.yaml'), join(changed, 'buf.yaml'));
      const file = join(changed, 'proto/switchboard/media/v1/media.proto');
      const text = readFileSync(file, 'utf8');
      const renumbered = text.replace(
        /message ConsumeRequest \{\n {2}string room_id = 1;/,
        'message ConsumeRequest {\n  string room_id = 9;',
      );
      expect(renumbered).not.toBe(text);
      writeFileSync(file, renumbered);
      expect(() => bufBreaking(changed, REPO_ROOT)).toThrow(/ConsumeRequest/);
    } finally {
      rmSync(changed, { recursive: true, force: true });
    }
  });

  it('regenerates to exactly the committed stubs', () => {
    execFileSync(join(BIN, 'buf'), ['generate', '--output', out], { cwd: REPO_ROOT, env, stdio: 'pipe' });
    const generated = join(out, 'common/proto/src/gen');
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/openapi.ts', '--out', generated], {
      cwd: REPO_ROOT,
      env,
      stdio: 'pipe',
    });
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
