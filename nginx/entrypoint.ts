/**
 * Docker entrypoint of the nginx image: renders the config from Consul, runs NGINX in the
 * foreground, re-renders and reloads when the passing instances change, and quits gracefully on
 * SIGTERM. (Natively, scripts/Stack.ts does the same.)
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsulClient } from '@switchboard/consul';
import { preparePrefix, renderNginxConfig } from './render';
import { tlsFiles } from './tls';

const prefix = process.env.NGINX_PREFIX ?? '/var/lib/switchboard-nginx';
const listen = process.env.NGINX_LISTEN ?? '8080';
// HTTPS with the operator's certificate (NGINX_TLS_CERT, NGINX_TLS_KEY), else a self-signed one.
const tls = tlsFiles(join(prefix, 'tls'), {
  certificate: process.env.NGINX_TLS_CERT || undefined,
  key: process.env.NGINX_TLS_KEY || undefined,
});
if (tls.selfSigned) {
  process.stdout.write(
    `HTTPS with a self-signed certificate (${tls.certificate}); set NGINX_TLS_CERT and NGINX_TLS_KEY\n`,
  );
}
// Its own Consul token (Compose's .env): reads its upstreams and nothing else.
const consul = new ConsulClient(process.env.CONSUL_HTTP_ADDR ?? 'consul:8500', {
  token: process.env.CONSUL_HTTP_TOKEN,
});
const file = join(prefix, 'nginx.conf');
const refused = new Set<string>();
const options = {
  prefix,
  listen,
  tls: { listen: process.env.NGINX_TLS_LISTEN ?? '8443', certificate: tls.certificate, key: tls.key },
  onRejected: (service: string, address: string, port: number) => {
    const key = `${service} ${address}:${port}`;
    if (!refused.has(key)) {
      refused.add(key);
      process.stderr.write(
        `ignoring a ${service} registration at ${JSON.stringify(address)}:${port} (not a plain host/IP and port)\n`,
      );
    }
  },
};

preparePrefix(prefix);
let current = '';
for (;;) {
  try {
    current = await renderNginxConfig(consul, options);
    break;
  } catch (error) {
    process.stderr.write(`waiting for consul: ${(error as Error).message}\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
writeFileSync(file, current);
// `-e stderr`: not root, NGINX could not open its compiled-in error log before reading the config.
const nginx = spawn('nginx', ['-e', 'stderr', '-p', prefix, '-c', file], { stdio: 'inherit' });
nginx.on('exit', (code) => process.exit(code ?? 1));
process.on('SIGTERM', () => nginx.kill('SIGQUIT'));
process.on('SIGINT', () => nginx.kill('SIGQUIT'));
setInterval(() => {
  void renderNginxConfig(consul, options)
    .then((next) => {
      if (next !== current) {
        current = next;
        writeFileSync(file, next);
        nginx.kill('SIGHUP');
        process.stdout.write('upstreams changed in consul; nginx reloaded\n');
      }
    })
    .catch(() => {});
}, 3000);
