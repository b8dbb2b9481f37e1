import { defineConfig } from 'vitest/config';

// Browser end-to-end tests: the native stack and real headless Chromium.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 240_000,
    pool: 'forks',
    setupFiles: ['test/setup.ts'],
    fileParallelism: false,
  },
});
