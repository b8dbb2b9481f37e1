import { defineConfig } from 'vitest/config';

// Unit and integration tests (real mediasoup workers, Consul, Postgres, Redis on loopback).
// The browser end-to-end suite has its own config (vitest.e2e.config.ts), the Compose smoke run's
// checks theirs (vitest.compose.config.ts, run by `npm run compose:smoke`).
export default defineConfig({
  test: {
    include: [
      'common/**/*.test.ts',
      'services/**/*.test.ts',
      'log-viewer/**/*.test.ts',
      'ui/src/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', 'test/e2e/**', 'test/compose/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['test/setup.ts'],
    fileParallelism: false,
  },
});
