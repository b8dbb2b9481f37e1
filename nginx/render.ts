/**
 * Renders nginx.conf.template with upstreams taken from Consul's passing instances. Used by the
 * native launcher (scripts/Stack.ts) and by the Docker image's entrypoint (nginx/entrypoint.ts),
 * so NGINX finds ui, gateway, signaling and log-viewer through Consul in both.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsulClient } from '@switchboard/consul';

export const TEMPLATE = join(import.meta.dirname, 'nginx.conf.template');

/** The Consul service behind each upstream of the template. */
export const UPSTREAMS = {
  UPSTREAM_UI: 'ui',
  UPSTREAM_GATEWAY: 'gateway',
  UPSTREAM_SIGNALING: 'signaling',
  UPSTREAM_LOG_VIEWER: 'log-viewer',
} as const;

export interface RenderOptions {
  /** NGINX prefix directory (pid, logs, temp files). */
  prefix: string;
  /** `listen` argument: a port, or address:port. */
  listen: string;
}

export async function renderNginxConfig(consul: ConsulClient, options: RenderOptions): Promise<string> {
  let config = readFileSync(TEMPLATE, 'utf8')
    .replaceAll('{{USER}}', process.getuid?.() === 0 ? 'user root;' : '')
    .replaceAll('{{PREFIX}}', options.prefix)
    .replaceAll(
      '{{MIME_TYPES}}',
      existsSync('/etc/nginx/mime.types') ? '/etc/nginx/mime.types' : join(import.meta.dirname, 'mime.types'),
    )
    .replaceAll('{{LISTEN}}', options.listen);
  for (const [placeholder, service] of Object.entries(UPSTREAMS)) {
    const instances = await consul.instances(service, { passingOnly: true });
    const servers =
      instances.length === 0
        ? // NGINX refuses an empty upstream; this one answers 502 until an instance passes.
          '    server 127.0.0.1:1 down;'
        : instances.map((i) => `    server ${i.address}:${i.port} max_fails=1 fail_timeout=5s;`).join('\n');
    config = config.replaceAll(`{{${placeholder}}}`, servers);
  }
  return config;
}

/** Creates the prefix's temp directories. */
export function preparePrefix(prefix: string): void {
  for (const dir of ['tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi']) {
    mkdirSync(join(prefix, dir), { recursive: true });
  }
}
