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

const prefix = process.env.NGINX_PREFIX ?? '/var/lib/switchboard-nginx';
const listen = process.env.NGINX_LISTEN ?? '8080';
const consul = new ConsulClient(process.env.CONSUL_HTTP_ADDR ?? 'consul:8500');
const file = join(prefix, 'nginx.conf');
const refused = new Set<string>();
const options = {
  prefix,
  listen,
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
const nginx = spawn('nginx', ['-p', prefix, '-c', file], { stdio: 'inherit' });
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
