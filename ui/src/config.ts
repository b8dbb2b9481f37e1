/** The UI server's configuration: the only file of the ui that reads process.env. */
import { z } from 'zod';
import { commonConfig, commonEnv, loadConfig, port, type CommonConfig } from '@switchboard/config';

const schema = z.object({
  ...commonEnv,
  UI_HOST: z.string().default('127.0.0.1'),
  UI_PORT: port(3000),
  UI_INSTANCE_ID: z.string().optional(),
});

export interface UiConfig extends CommonConfig {
  host: string;
  port: number;
  instanceId?: string;
}

export function readConfig(env: Record<string, string | undefined> = process.env): UiConfig {
  const c = loadConfig('ui', schema, env);
  return {
    ...commonConfig(c),
    host: c.UI_HOST,
    port: c.UI_PORT,
    instanceId: c.UI_INSTANCE_ID,
  };
}
