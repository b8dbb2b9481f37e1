import { defineConfig } from 'vitest/config';

// The Compose smoke run's checks against a running docker-compose.yml stack; started by
// `npm run compose:smoke` (scripts/compose/smoke.sh), which builds, starts and removes the stack.
export default defineConfig({
  test: {
    include: ['test/compose/**/*.compose.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    setupFiles: ['test/setup.ts'],
    fileParallelism: false,
  },
});
