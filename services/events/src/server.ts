/** Events service entry point: process wiring only. */
import { createLogger } from '@switchboard/logger';
import { runService } from '@switchboard/runtime';
import { readConfig } from './config';
import { EventsService } from './EventsService';

const config = readConfig();
const root = createLogger({
  service: 'events',
  level: config.logLevel,
  dir: config.logDir,
  rotation: config.logRotation,
  instance: String(config.port || process.pid),
});
await runService(root, () => EventsService.create(config, root.logger));
