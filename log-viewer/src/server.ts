/** Log viewer entry point: process wiring only. */
import { createLogger } from '@switchboard/logger';
import { runService } from '@switchboard/runtime';
import { readConfig } from './config';
import { LogViewer } from './LogViewer';

const config = readConfig();
const root = createLogger({
  service: 'log-viewer',
  level: config.logLevel,
  dir: config.logDir,
  rotation: config.logRotation,
  instance: String(config.port || process.pid),
});
await runService(root, () => LogViewer.create(config, root.logger));
