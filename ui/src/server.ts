/** UI entry point: process wiring only. */
import { createLogger } from '@switchboard/logger';
import { runService } from '@switchboard/runtime';
import { readConfig } from './config';
import { UiServer } from './UiServer';

const config = readConfig();
const root = createLogger({
  service: 'ui',
  level: config.logLevel,
  dir: config.logDir,
  rotation: config.logRotation,
  instance: String(config.port || process.pid),
});
await runService(root, () => UiServer.create(config, root.logger));
