/** Signaling service entry point: process wiring only. */
import { createLogger } from '@switchboard/logger';
import { runService } from '@switchboard/runtime';
import { readConfig } from './config';
import { SignalingServer } from './SignalingServer';

const config = readConfig();
const root = createLogger({
  service: 'signaling',
  level: config.logLevel,
  dir: config.logDir,
  rotation: config.logRotation,
  instance: String(config.port || process.pid),
});
await runService(root, () => SignalingServer.create(config, root.logger));
