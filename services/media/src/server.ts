/** Media service entry point: process wiring only. */
import { createLogger } from '@switchboard/logger';
import { runService } from '@switchboard/runtime';
import { readConfig } from './config';
import { MediaNode } from './MediaNode';

const config = readConfig();
const root = createLogger({
  service: 'media',
  level: config.logLevel,
  dir: config.logDir,
  rotation: config.logRotation,
  instance: String(config.grpcPort || process.pid),
});
// SIGTERM drains first (calls go on for MEDIA_DRAIN_SECONDS, then move to other nodes).
await runService(root, () => MediaNode.create(config, root.logger), { graceMs: config.drainMs + 10_000 });
