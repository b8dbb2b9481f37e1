/**
 * The REST API: accounts and login sessions, rooms (Postgres), join tokens (JWT for signaling)
 * and platform health (Consul). Every body and parameter is validated; errors are JSON
 * `{ code, message }` with an HTTP status. State-changing requests need the CSRF header; every
 * /api/ route is rate limited per client address (Redis, shared by all gateway instances).
 */
import type { AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import { Emitter } from '@socket.io/redis-emitter';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { EventLog } from '@switchboard/events';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { ConsulClient, registerHttpService, type Registration } from '@switchboard/consul';
import {
  ApiKeyStore,
  CallStore,
  ChatStore,
  createPool,
  MatchExclusionStore,
  MatchReportStore,
  migrate,
  RoomStore,
  WebhookStore,
  type Pool,
} from '@switchboard/db';
import { AppError, fromUnknown, PermissionDeniedError, UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { client as prom, createRegistry } from '@switchboard/metrics';
import { CSRF_HEADER } from '@switchboard/protocol';
import { closeRedis, safePublisher, takePoint } from '@switchboard/runtime';
import { Accounts } from './Accounts';
import { apiKeyRoutes } from './apiKeyRoutes';
import { authRoutes, requestUser } from './authRoutes';
import { callRoutes } from './callRoutes';
import { matchReportRoutes } from './matchReportRoutes';
import { webhookRoutes } from './webhookRoutes';
import { chatRoutes } from './chatRoutes';
import type { GatewayConfig } from './config';
import { DEFAULT_THROTTLE, LoginThrottle } from './LoginThrottle';
import { OperatorSetup } from './OperatorSetup';
import { roomRoutes } from './roomRoutes';
import { TurnCredentials } from './TurnCredentials';

/** The services whose health GET /api/health reports. */
export const PLATFORM_SERVICES = ['media', 'signaling', 'gateway', 'ui', 'log-viewer', 'events'] as const;

/** Routes with their own, stricter rate limit (password guessing, token churn). */
const AUTH_ROUTES = new Set([
  '/api/auth/register',
  '/api/auth/login',
  '/api/auth/refresh',
  '/api/auth/operator-setup',
]);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class Gateway {
  readonly #config: GatewayConfig;
  readonly #logger: Logger;
  readonly #app: FastifyInstance;
  readonly #pool: Pool;
  readonly #redis: Redis;
  readonly #consul: ConsulClient;
  readonly #registry: prom.Registry;
  readonly #accounts: Accounts;
  readonly #setup: OperatorSetup;
  /** Admissions made through the REST API go onto the event stream (opened once Redis is). */
  #events?: EventLog;
  #registration?: Registration;
  #draining = false;
  #closed = false;

  private constructor(config: GatewayConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#pool = createPool(config.databaseUrl);
    this.#redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.#redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
    this.#consul = new ConsulClient(config.consulAddr, { token: config.consulToken });
    this.#registry = createRegistry('gateway');
    this.#setup = new OperatorSetup({
      pool: this.#pool,
      operatorEmails: config.operatorEmails,
      codeFile: config.setupCodeFile,
      logger,
    });
    this.#accounts = new Accounts({
      pool: this.#pool,
      redis: this.#redis,
      secret: config.jwtSecret,
      accessTtlSeconds: config.accessTtlSeconds,
      refreshTtlSeconds: config.refreshTtlSeconds,
      operatorEmails: config.operatorEmails,
      setup: this.#setup,
      throttle: new LoginThrottle(this.#redis, {
        ...DEFAULT_THROTTLE,
        ipThreshold: config.loginIpLockThreshold,
        accountThreshold: config.loginAccountLockThreshold,
      }),
      logger,
    });
    this.#app = Fastify({
      loggerInstance: logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
      // Requests are measured in a histogram; per-request log lines would drown the rest.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: 16 * 1024,
      trustProxy: config.trustProxy,
    });
    void this.#app.register(fastifyCookie);
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
    await this.#setup.ensureCode();
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
    this.#guards(app);
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
      if (appError.retryAfterSeconds !== undefined) {
        void reply.header('retry-after', String(appError.retryAfterSeconds));
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

    // Anyone may ask whether the platform is healthy; which instances run where is for operators.
    app.get('/api/health', async (request, reply) => {
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
      const status = healthy ? 'ok' : 'degraded';
      const operator = (await requestUser(this.#accounts, request).catch(() => undefined))?.operator;
      return reply.status(healthy ? 200 : 503).send(operator ? { status, services } : { status });
    });

    authRoutes(app, this.#accounts);
    apiKeyRoutes(app, { accounts: this.#accounts, keys: new ApiKeyStore(this.#pool), logger: this.#logger });
    matchReportRoutes(app, {
      accounts: this.#accounts,
      reports: new MatchReportStore(this.#pool),
      exclusions: new MatchExclusionStore(this.#pool),
    });
    webhookRoutes(app, {
      accounts: this.#accounts,
      webhooks: new WebhookStore(this.#pool),
      logger: this.#logger,
    });
    const rooms = new RoomStore(this.#pool);
    roomRoutes(app, {
      accounts: this.#accounts,
      rooms,
      redis: this.#redis,
      events: (this.#events = EventLog.create({ redis: this.#redis, logger: this.#logger })),
      emitter: new Emitter(
        safePublisher(this.#redis, (error) =>
          this.#logger.warn({ err: error }, 'notice to signaling lost (Redis unavailable)'),
        ),
        { key: 'sb:io' },
      ),
      secret: this.#config.jwtSecret,
      tokenTtlSeconds: this.#config.tokenTtlSeconds,
      turn:
        this.#config.turnSecret === undefined
          ? undefined
          : new TurnCredentials({
              consul: this.#consul,
              secret: this.#config.turnSecret,
              ttlSeconds: this.#config.turnTtlSeconds,
              logger: this.#logger,
            }),
      logger: this.#logger,
    });
    callRoutes(app, { accounts: this.#accounts, rooms, calls: new CallStore(this.#pool) });
    chatRoutes(app, {
      accounts: this.#accounts,
      rooms,
      chat: new ChatStore(this.#pool),
      redis: this.#redis,
      secret: this.#config.jwtSecret,
    });
  }

  /** CSRF header on state changes, then the per-address rate limits, before any /api/ route. */
  #guards(app: FastifyInstance): void {
    const limiter = (name: string, points: number) =>
      new RateLimiterRedis({ storeClient: this.#redis, keyPrefix: `sb:rl:${name}`, points, duration: 60 });
    const api = limiter('api', this.#config.apiRatePerMinute);
    const auth = limiter('auth', this.#config.authRatePerMinute);
    app.addHook('onRequest', async (request) => {
      // The route the router matched (on the decoded path), never the raw URL: `/%61pi/rooms` is
      // `/api/rooms` to the router and so to the guards. Only the operational routes
      // (/healthz, /metrics) pass unguarded; an unmatched path is guarded like an API route.
      const route = request.routeOptions.url;
      if (route !== undefined && !route.startsWith('/api/')) {
        return;
      }
      if (!SAFE_METHODS.has(request.method) && request.headers[CSRF_HEADER] === undefined) {
        throw new PermissionDeniedError(
          `state-changing requests need the ${CSRF_HEADER} header (any value): it protects signed-in users from cross-site requests`,
        );
      }
      const limiters = route !== undefined && AUTH_ROUTES.has(route) ? [api, auth] : [api];
      for (const rl of limiters) {
        // Without its counts, sign-in would be open to unlimited guessing: refused instead.
        await takePoint(rl, request.ip, 'too many requests from your address; slow down', this.#logger, {
          failClosed: rl === auth,
        });
      }
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
    await this.#events?.close();
    await Promise.allSettled([closeRedis(this.#redis), this.#pool.end()]);
    this.#logger.info('gateway closed');
  }
}
