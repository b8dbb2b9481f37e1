/**
 * Renders nginx.conf.template with upstreams taken from Consul's passing instances. Used by the
 * native launcher (scripts/Stack.ts) and by the Docker image's entrypoint (nginx/entrypoint.ts),
 * so NGINX finds ui, gateway, signaling and log-viewer through Consul in both.
 */
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
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
  /** Also serve HTTPS: the `listen` argument and the certificate files. */
  tls?: { listen: string; certificate: string; key: string };
  /** Told about each registration left out because its address is not a plain host/IP and port. */
  onRejected?: (service: string, address: string, port: number) => void;
}

/** Debian's (and the Docker base image's) unprivileged user and group for NGINX workers. */
const NOBODY = { user: 'nobody', group: 'nogroup', uid: 65534, gid: 65534 };

const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV6 = /^[0-9a-fA-F:]{2,39}$/;

/**
 * Anything a service registers in Consul ends up in nginx.conf: only a plain hostname, IPv4 or
 * IPv6 address and a port in range are accepted, so a registration cannot inject directives.
 */
export function upstreamServer(address: string, port: number): string | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return undefined;
  }
  if (IPV4.test(address) || HOSTNAME.test(address)) {
    return `${address}:${port}`;
  }
  if (IPV6.test(address) && address.includes(':')) {
    return `[${address}]:${port}`;
  }
  return undefined;
}

/** A path NGINX reads as one argument (no whitespace, quotes, braces or semicolons). */
const PLAIN_PATH = /^[^\s;{}'"\\$]+$/;

function tlsDirectives(tls: RenderOptions['tls']): string {
  if (!tls) {
    return '';
  }
  for (const path of [tls.certificate, tls.key]) {
    if (!PLAIN_PATH.test(path)) {
      throw new Error(`TLS file path ${JSON.stringify(path)} has characters NGINX would misread`);
    }
  }
  return [
    `    listen ${tls.listen} ssl;`,
    `    ssl_certificate ${tls.certificate};`,
    `    ssl_certificate_key ${tls.key};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    '    ssl_session_cache shared:tls:10m;',
    '    ssl_session_timeout 1h;',
  ].join('\n');
}

export async function renderNginxConfig(consul: ConsulClient, options: RenderOptions): Promise<string> {
  let config = readFileSync(TEMPLATE, 'utf8')
    .replaceAll('{{USER}}', process.getuid?.() === 0 ? `user ${NOBODY.user} ${NOBODY.group};` : '')
    .replaceAll('{{PREFIX}}', options.prefix)
    .replaceAll(
      '{{MIME_TYPES}}',
      existsSync('/etc/nginx/mime.types') ? '/etc/nginx/mime.types' : join(import.meta.dirname, 'mime.types'),
    )
    .replaceAll('{{LISTEN}}', options.listen)
    .replaceAll('{{TLS}}', tlsDirectives(options.tls));
  for (const [placeholder, service] of Object.entries(UPSTREAMS)) {
    const instances = await consul.instances(service, { passingOnly: true });
    const accepted: string[] = [];
    for (const instance of instances) {
      const server = upstreamServer(instance.address, instance.port);
      if (server) {
        accepted.push(`    server ${server} max_fails=1 fail_timeout=5s;`);
      } else {
        options.onRejected?.(service, instance.address, instance.port);
      }
    }
    const servers =
      accepted.length === 0
        ? // NGINX refuses an empty upstream; this one answers 502 until an instance passes.
          '    server 127.0.0.1:1 down;'
        : accepted.join('\n');
    config = config.replaceAll(`{{${placeholder}}}`, servers);
  }
  return config;
}

/** Creates the prefix's temp directories, writable by the (unprivileged) workers. */
export function preparePrefix(prefix: string): void {
  for (const dir of ['tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi']) {
    mkdirSync(join(prefix, dir), { recursive: true });
    if (process.getuid?.() === 0) {
      chownSync(join(prefix, dir), NOBODY.uid, NOBODY.gid);
    }
  }
}
