/** Gateway entry point: process wiring only. */
import { createLogger } from '@switchboard/logger';
import { runService } from '@switchboard/runtime';
import { readConfig } from './config';
import { Gateway } from './Gateway';

const config = readConfig();
const root = createLogger({
  service: 'gateway',
  level: config.logLevel,
  dir: config.logDir,
  rotation: config.logRotation,
  instance: String(config.port || process.pid),
});
await runService(root, () => Gateway.create(config, root.logger));
