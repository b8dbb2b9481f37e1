/** The log viewer's configuration: the only file of this service that reads process.env. */
import { z } from 'zod';
import { commonConfig, commonEnv, loadConfig, port, type CommonConfig } from '@switchboard/config';

const schema = z.object({
  ...commonEnv,
  LOG_VIEWER_HOST: z.string().default('127.0.0.1'),
  LOG_VIEWER_PORT: port(4200),
  LOG_VIEWER_INSTANCE_ID: z.string().optional(),
  /** The directory every service writes its pino JSON files to (LOG_DIR of the others). */
  LOG_VIEWER_DIR: z.string().min(1, 'the directory the services log to is required'),
  /** Entries kept in memory for search (newest win). */
  LOG_VIEWER_BUFFER: z.coerce.number().int().min(100).max(2_000_000).default(100_000),
});

export interface LogViewerConfig extends CommonConfig {
  host: string;
  port: number;
  instanceId?: string;
  watchDir: string;
  bufferSize: number;
}

export function readConfig(env: Record<string, string | undefined> = process.env): LogViewerConfig {
  const c = loadConfig('log-viewer', schema, env);
  return {
    ...commonConfig(c),
    host: c.LOG_VIEWER_HOST,
    port: c.LOG_VIEWER_PORT,
    instanceId: c.LOG_VIEWER_INSTANCE_ID,
    watchDir: c.LOG_VIEWER_DIR,
    bufferSize: c.LOG_VIEWER_BUFFER,
  };
}
