/** Media service entry point: process wiring only (config, logger, node, signals). */
import { createLogger } from '@switchboard/logger';
import { readConfig } from './config';
import { MediaNode } from './MediaNode';

const config = readConfig();
const { logger, flush } = createLogger({
  service: 'media',
  level: config.logLevel,
  dir: config.logDir,
  instance: String(config.grpcPort || process.pid),
});

let node: MediaNode | undefined;
let stopping = false;

async function shutdown(signal: string, code = 0): Promise<void> {
  if (stopping) {
    return;
  }
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const timer = setTimeout(() => {
    logger.error('shutdown took longer than 10s; exiting');
    flush();
    process.exit(1);
  }, 10_000);
  timer.unref();
  await node?.close();
  flush();
  process.exit(code);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'uncaught exception');
  void shutdown('uncaughtException', 1);
});

try {
  node = await MediaNode.create(config, logger);
} catch (error) {
  logger.fatal({ err: error }, 'media node failed to start');
  flush();
  process.exit(1);
}
