/**
 * Serves the built Next.js app (run `next build` first) from a plain Node HTTP server that also
 * answers /healthz and /metrics and registers the instance in Consul as `ui`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import next from 'next';
import { ConsulClient, registerHttpService, type Registration } from '@switchboard/consul';
import type { Logger } from '@switchboard/logger';
import { client as prom, createRegistry } from '@switchboard/metrics';
import { serveOps } from '@switchboard/runtime';
import type { UiConfig } from './config';
import { serveVendor } from './vendor';

/**
 * The pages' Content-Security-Policy: no inline script but Next's own, which carries this
 * request's nonce (Next reads it from the request's policy header and puts it on every script it
 * writes; every page renders per request, see app/layout.tsx). NGINX passes this policy on instead
 * of its default one.
 */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'self'",
    // WebAssembly may be compiled (the blur and noise suppression); JavaScript eval still may not.
    `script-src 'self' 'nonce-${nonce}' 'wasm-unsafe-eval'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self' ws: wss:",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export class UiServer {
  readonly #logger: Logger;
  readonly #http: Server;
  #registration?: Registration;
  #closed = false;

  private constructor(logger: Logger, http: Server) {
    this.#logger = logger;
    this.#http = http;
  }

  static async create(config: UiConfig, logger: Logger): Promise<UiServer> {
    const app = next({ dev: false, dir: resolve(import.meta.dirname, '..'), quiet: true });
    await app.prepare();
    const handle = app.getRequestHandler();
    const registry = createRegistry('ui');
    const requests = new prom.Counter({
      name: 'switchboard_ui_requests_total',
      help: 'Pages and assets served, by status class',
      labelNames: ['status'],
      registers: [registry],
    });
    const http = createServer((req, res) => {
      void (async () => {
        // The pages are built and served in-process: up is healthy, until it closes.
        if (await serveOps(registry, req, res, () => ({ ok: !server.#closed }))) {
          return;
        }
        res.on('finish', () => requests.inc({ status: `${Math.floor(res.statusCode / 100)}xx` }));
        try {
          if (await serveVendor(req, res)) {
            return;
          }
        } catch (error) {
          logger.error({ err: error, url: req.url }, 'vendor file failed');
          if (!res.headersSent) {
            res.writeHead(500).end('internal error');
          }
          return;
        }
        // Whatever a client sent in this header is replaced: the nonce is ours, new per request.
        const policy = pagePolicy(randomBytes(16).toString('base64'));
        req.headers['content-security-policy'] = policy;
        delete req.headers['content-security-policy-report-only'];
        res.setHeader('Content-Security-Policy', policy);
        try {
          await handle(req, res);
        } catch (error) {
          logger.error({ err: error, url: req.url }, 'page failed');
          if (!res.headersSent) {
            res.writeHead(500).end('internal error');
          }
        }
      })();
    });
    const server = new UiServer(logger, http);
    await new Promise<void>((resolveListen, reject) => {
      http.once('error', (error) =>
        reject(new Error(`cannot listen on ${config.host}:${config.port}: ${error.message}`)),
      );
      http.listen(config.port, config.host, () => resolveListen());
    });
    logger.info({ port: server.port }, 'ui listening');
    try {
      server.#registration = await registerHttpService(
        new ConsulClient(config.consulAddr, { token: config.consulToken }),
        { name: 'ui', instanceId: config.instanceId, advertiseHost: config.advertiseHost, port: server.port },
        logger,
      );
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  get port(): number {
    return (this.#http.address() as AddressInfo | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#registration?.deregister();
    this.#http.closeAllConnections();
    await new Promise<void>((r) => this.#http.close(() => r()));
    this.#logger.info('ui closed');
  }
}
