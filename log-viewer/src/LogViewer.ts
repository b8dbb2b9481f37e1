/**
 * The log viewer: a page at /logs/ that live-tails every service's logs with filters kept in the
 * URL, a search API (GET /logs/api/search) and a live stream (GET /logs/api/stream, server-sent
 * events). Registered in Consul as `log-viewer`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ConsulClient, registerHttpService, type Registration } from '@switchboard/consul';
import { AppError, fromUnknown, parseOrThrow } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { collectedGauge, createRegistry, type client as prom } from '@switchboard/metrics';
import { serveOps } from '@switchboard/runtime';
import type { LogViewerConfig } from './config';
import { LEVELS, LogStore, matches, type LogEntry, type LogFilter } from './LogStore';

export const BASE_PATH = '/logs';

const filterSchema = z.object({
  service: z
    .string()
    .regex(/^[a-z0-9-]{0,64}$/, 'must be a service name (lowercase letters, digits, dashes)')
    .optional()
    .transform((v) => v || undefined),
  level: z
    .union([z.enum(LEVELS), z.literal('')])
    .optional()
    .transform((v) => v || undefined),
  q: z
    .string()
    .max(200, 'must be at most 200 characters')
    .optional()
    .transform((v) => v?.trim() || undefined),
});
const searchSchema = filterSchema.extend({
  limit: z.coerce.number().int().min(1).max(5000).default(200),
});

const PAGE = readFileSync(new URL('../public/index.html', import.meta.url), 'utf8');
const SCRIPT = readFileSync(new URL('../public/viewer.js', import.meta.url), 'utf8');

function publicEntry(entry: LogEntry) {
  return {
    seq: entry.seq,
    time: entry.time,
    service: entry.service,
    level: entry.level,
    msg: entry.msg,
    data: entry.data,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export class LogViewer {
  readonly #config: LogViewerConfig;
  readonly #logger: Logger;
  readonly #store: LogStore;
  readonly #http: Server;
  readonly #registry: prom.Registry;
  readonly #streams = new Set<ServerResponse>();
  #registration?: Registration;
  #closed = false;

  private constructor(config: LogViewerConfig, logger: Logger, store: LogStore) {
    this.#config = config;
    this.#logger = logger;
    this.#store = store;
    this.#registry = createRegistry('log-viewer');
    collectedGauge(
      this.#registry,
      'switchboard_log_viewer_entries',
      'Log entries held in memory for search',
      () => store.size,
    );
    collectedGauge(
      this.#registry,
      'switchboard_log_viewer_streams',
      'Live-tail clients connected',
      () => this.#streams.size,
    );
    this.#http = createServer((req, res) => {
      void this.#handle(req, res).catch((error: unknown) => {
        const appError = fromUnknown(error);
        if (appError.code === 'INTERNAL') {
          this.#logger.error({ err: error, url: req.url }, 'request failed');
        }
        if (!res.headersSent) {
          sendJson(res, appError.httpStatus, appError.toJSON());
        }
      });
    });
  }

  static async create(config: LogViewerConfig, logger: Logger): Promise<LogViewer> {
    const store = await LogStore.create({ dir: config.watchDir, capacity: config.bufferSize });
    const viewer = new LogViewer(config, logger, store);
    try {
      await viewer.#start();
    } catch (error) {
      await viewer.close();
      throw error;
    }
    return viewer;
  }

  get port(): number {
    return (this.#http.address() as AddressInfo | null)?.port ?? 0;
  }

  async #start(): Promise<void> {
    const { host, port, advertiseHost } = this.#config;
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', (error) =>
        reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`)),
      );
      this.#http.listen(port, host, () => resolve());
    });
    this.#logger.info({ port: this.port, watching: this.#config.watchDir }, 'log viewer listening');
    this.#registration = await registerHttpService(
      new ConsulClient(this.#config.consulAddr, { token: this.#config.consulToken }),
      {
        name: 'log-viewer',
        instanceId: this.#config.instanceId,
        advertiseHost,
        port: this.port,
      },
      this.#logger,
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (await serveOps(this.#registry, req, res, () => ({ ok: !this.#closed }))) {
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') {
      throw new AppError('INVALID_ARGUMENT', `${req.method} is not supported; use GET`);
    }
    const query = Object.fromEntries(url.searchParams);
    switch (url.pathname) {
      case BASE_PATH:
        res.writeHead(301, { location: `${BASE_PATH}/${url.search}` }).end();
        return;
      case `${BASE_PATH}/`:
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
          .end(PAGE);
        return;
      case `${BASE_PATH}/viewer.js`:
        res
          .writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' })
          .end(SCRIPT);
        return;
      case `${BASE_PATH}/api/search`: {
        const { limit, ...filter } = parseOrThrow(searchSchema, query, 'search query');
        await this.#store.poll();
        const entries = this.#store.search(filter, limit).map(publicEntry);
        sendJson(res, 200, { entries, count: entries.length, services: this.#store.services() });
        return;
      }
      case `${BASE_PATH}/api/stream`:
        this.#stream(res, parseOrThrow(filterSchema, query, 'stream query'));
        return;
      default:
        sendJson(res, 404, { code: 'NOT_FOUND', message: `no route for GET ${url.pathname}` });
    }
  }

  /** Server-sent events: one `data:` line of JSON per matching entry. */
  #stream(res: ServerResponse, filter: LogFilter): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no', // NGINX: do not buffer the stream
    });
    res.write(': connected\n\n');
    const onEntry = (entry: LogEntry) => {
      if (matches(entry, filter)) {
        res.write(`data: ${JSON.stringify(publicEntry(entry))}\n\n`);
      }
    };
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    this.#store.on('entry', onEntry);
    this.#streams.add(res);
    res.on('close', () => {
      clearInterval(keepAlive);
      this.#store.off('entry', onEntry);
      this.#streams.delete(res);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#registration?.deregister();
    for (const res of this.#streams) {
      res.end();
    }
    this.#store.close();
    this.#http.closeAllConnections();
    await new Promise<void>((r) => this.#http.close(() => r()));
    this.#logger.info('log viewer closed');
  }
}
