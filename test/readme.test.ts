/** Every environment variable a service reads is documented in the README's configuration table. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@switchboard/testing';

const CONFIG_FILES = [
  'common/config/src/index.ts',
  'services/media/src/config.ts',
  'services/signaling/src/config.ts',
  'services/gateway/src/config.ts',
  'ui/src/config.ts',
  'log-viewer/src/config.ts',
];

describe('README', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

  it('documents every configuration variable', () => {
    for (const file of CONFIG_FILES) {
      const source = readFileSync(join(REPO_ROOT, file), 'utf8');
      const variables = [...source.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);
      expect(variables.length, file).toBeGreaterThan(0);
      for (const variable of variables) {
        expect(readme, `${variable} (${file})`).toContain(`\`${variable}\``);
      }
    }
  });

  it('shows the two commands first', () => {
    const quickStart = readme.indexOf('## Quick start');
    expect(quickStart).toBeGreaterThan(0);
    expect(readme.indexOf('npm start', quickStart)).toBeLessThan(readme.indexOf('## Architecture'));
    expect(readme.indexOf('npm test', quickStart)).toBeLessThan(readme.indexOf('## Architecture'));
  });
});
