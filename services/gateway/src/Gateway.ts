/**
 * The REST API: rooms (Postgres), join tokens (JWT for signaling) and platform health (Consul).
 * Every body and parameter is validated; errors are JSON `{ code, message }` with an HTTP status.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { signJoinToken } from '@switchboard/auth';
import { ConsulClient, registerHttpService, type Registration } from '@switchboard/consul';
import { createPool, migrate, type Pool } from '@switchboard/db';
import { AppError, fromUnknown, NotFoundError, parseOrThrow, UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { client as prom, createRegistry } from '@switchboard/metrics';
import { displayNameSchema, roomNameSchema } from '@switchboard/protocol';
import type { GatewayConfig } from './config';
import { randomRoomName } from './roomNames';

/** The services whose health GET /api/health reports. */
export const PLATFORM_SERVICES = ['media', 'signaling', 'gateway', 'ui', 'log-viewer'] as const;

const createRoomBody = z.object({ name: roomNameSchema.optional() }).strict();
const createTokenBody = z.object({ displayName: displayNameSchema }).strict();
const roomParams = z.object({ room: roomNameSchema });

interface RoomRow {
  name: string;
  created_at: Date;
}

export class Gateway {
  readonly #config: GatewayConfig;
  readonly #logger: Logger;
  readonly #app: FastifyInstance;
  readonly #pool: Pool;
  readonly #redis: Redis;
  readonly #consul: ConsulClient;
  readonly #registry: prom.Registry;
  #registration?: Registration;
  #draining = false;
  #closed = false;

  private constructor(config: GatewayConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#pool = createPool(config.databaseUrl);
    this.#redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.#redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
    this.#consul = new ConsulClient(config.consulAddr);
    this.#registry = createRegistry('gateway');
    this.#app = Fastify({
      loggerInstance: logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
      // Requests are measured in a histogram; per-request log lines would drown the rest.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: 16 * 1024,
    });
    this.#routes();
  }

  static async create(config: GatewayConfig, logger: Logger): Promise<Gateway> {
    const gateway = new Gateway(config, logger);
    try {
      await gateway.#start();
    } catch (error) {
      await gateway.close();
      throw error;
    }
    return gateway;
  }

  get port(): number {
    return (this.#app.server.address() as AddressInfo | null)?.port ?? 0;
  }

  async #start(): Promise<void> {
    try {
      await this.#redis.connect();
    } catch (error) {
      throw new UnavailableError('cannot connect to Redis', { cause: error });
    }
    try {
      await migrate(this.#pool, this.#logger);
    } catch (error) {
      throw new UnavailableError('cannot connect to or migrate Postgres', { cause: error });
    }
    await this.#app.listen({ host: this.#config.host, port: this.#config.port });
    this.#logger.info({ port: this.port }, 'gateway listening');
    const { advertiseHost } = this.#config;
    this.#registration = await registerHttpService(
      this.#consul,
      { name: 'gateway', instanceId: this.#config.instanceId, advertiseHost, port: this.port },
      this.#logger,
    );
  }

  #routes(): void {
    const app = this.#app;
    const requests = new prom.Histogram({
      name: 'switchboard_http_request_seconds',
      help: 'Gateway HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.#registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      requests.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
    });
    app.setErrorHandler((error, request, reply) => {
      // Fastify's own errors (bad JSON, body too large, wrong content type) carry a 4xx statusCode:
      // keep that status (413, 415, ...) with our error shape.
      const status = (error as { statusCode?: number }).statusCode;
      if (!(error instanceof AppError) && status && status >= 400 && status < 500) {
        const code = status === 413 ? 'RESOURCE_EXHAUSTED' : 'INVALID_ARGUMENT';
        const message =
          status === 415
            ? `unsupported content-type ${request.headers['content-type'] ?? '(none)'}: send JSON (application/json)`
            : (error as Error).message;
        void reply.status(status).send({ code, message });
        return;
      }
      const appError = fromUnknown(error);
      if (appError.code === 'INTERNAL') {
        request.log.error({ err: error, url: request.url }, 'request failed');
      }
      void reply.status(appError.httpStatus).send(appError.toJSON());
    });
    app.setNotFoundHandler((request, reply) => {
      void reply
        .status(404)
        .send({ code: 'NOT_FOUND', message: `no route for ${request.method} ${request.url.split('?')[0]}` });
    });

    app.get('/healthz', async (_request, reply) => {
      const ok = !this.#draining && this.#redis.status === 'ready';
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable' });
    });
    app.get('/metrics', async (_request, reply) =>
      reply.header('content-type', this.#registry.contentType).send(await this.#registry.metrics()),
    );

    app.get('/api/health', async (_request, reply) => {
      const services: Record<string, { status: string; instances: unknown[] }> = {};
      let healthy = true;
      try {
        await Promise.all(
          PLATFORM_SERVICES.map(async (name) => {
            const instances = await this.#consul.instances(name);
            const passing = instances.filter((i) => i.status === 'passing').length;
            if (passing === 0) {
              healthy = false;
            }
            services[name] = {
              status: passing > 0 ? 'passing' : instances.length > 0 ? 'critical' : 'missing',
              instances: instances.map((i) => ({
                id: i.id,
                address: `${i.address}:${i.port}`,
                status: i.status,
              })),
            };
          }),
        );
      } catch (error) {
        throw new UnavailableError('consul is unreachable', { cause: error });
      }
      return reply.status(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'degraded', services });
    });

    app.post('/api/rooms', async (request, reply) => {
      const body = parseOrThrow(createRoomBody, request.body ?? {}, 'body');
      const name = body.name ?? randomRoomName();
      const { rows } = await this.#pool.query<RoomRow>(
        'INSERT INTO rooms (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING name, created_at',
        [name],
      );
      if (rows.length === 0) {
        throw new AppError('ALREADY_EXISTS', `room ${name} already exists`);
      }
      this.#logger.info({ roomId: name }, 'room created');
      return reply.status(201).send(roomJson(rows[0]));
    });

    app.get('/api/rooms/:room', async (request) => {
      const { room } = parseOrThrow(roomParams, request.params, 'room name');
      const { rows } = await this.#pool.query<RoomRow>('SELECT name, created_at FROM rooms WHERE name = $1', [
        room,
      ]);
      if (rows.length === 0) {
        throw new NotFoundError(`room ${room} does not exist`);
      }
      const peers = Object.values(await this.#redis.hgetall(`sb:room:${room}:peers`)).map((v) => {
        const { peerId, displayName } = JSON.parse(v) as { peerId: string; displayName: string };
        return { peerId, displayName };
      });
      return { ...roomJson(rows[0]), participants: peers };
    });

    app.post('/api/rooms/:room/tokens', async (request, reply) => {
      const { room } = parseOrThrow(roomParams, request.params, 'room name');
      const { displayName } = parseOrThrow(createTokenBody, request.body ?? {}, 'body');
      // Joining a room by a name that does not exist yet creates it (as in Jitsi).
      await this.#pool.query('INSERT INTO rooms (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [room]);
      const { token, expiresAt } = await signJoinToken(
        { room, name: displayName },
        this.#config.jwtSecret,
        this.#config.tokenTtlSeconds,
      );
      this.#logger.info({ roomId: room, displayName }, 'join token issued');
      return reply.status(201).send({ token, expiresAt: expiresAt.toISOString(), room, displayName });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#draining = true;
    await this.#registration?.deregister();
    await this.#app.close().catch(() => {});
    await Promise.allSettled([this.#redis.quit(), this.#pool.end()]);
    this.#logger.info('gateway closed');
  }
}

function roomJson(row: RoomRow) {
  return { name: row.name, createdAt: row.created_at.toISOString(), path: `/r/${row.name}` };
}
