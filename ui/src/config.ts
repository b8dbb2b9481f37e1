/** The UI server's configuration: the only file of the ui that reads process.env. */
import { z } from 'zod';
import { commonEnv, loadConfig, port } from '@switchboard/config';

const schema = z.object({
  ...commonEnv,
  UI_HOST: z.string().default('127.0.0.1'),
  UI_PORT: port(3000),
  UI_INSTANCE_ID: z.string().optional(),
});

export interface UiConfig {
  consulAddr: string;
  advertiseHost: string;
  logLevel: string;
  logDir: string;
  host: string;
  port: number;
  instanceId?: string;
}

export function readConfig(env: Record<string, string | undefined> = process.env): UiConfig {
  const c = loadConfig('ui', schema, env);
  return {
    consulAddr: c.CONSUL_HTTP_ADDR,
    advertiseHost: c.ADVERTISE_HOST,
    logLevel: c.LOG_LEVEL,
    logDir: c.LOG_DIR,
    host: c.UI_HOST,
    port: c.UI_PORT,
    instanceId: c.UI_INSTANCE_ID,
  };
}
