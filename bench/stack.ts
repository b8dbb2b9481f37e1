/** The stack a browser benchmark runs against: the native one, on the e2e ports, quiet. */
import { join } from 'node:path';
import { ROOT, Stack } from '../scripts/Stack';
import { E2E_BACKENDS } from '../test/e2e/browser';
import { E2E_PORTS } from '../test/e2e/ports';

export function startBenchStack(): Promise<Stack> {
  return Stack.start({
    ...E2E_BACKENDS,
    ports: E2E_PORTS,
    runDir: join(ROOT, '.run/bench'),
    log: () => {},
    prometheus: false,
    logLevel: 'warn',
  });
}
