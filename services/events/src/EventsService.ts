/**
 * The events service: the consumers of the lifecycle event stream (`sb:events`), each in a
 * consumer group of its own. Today: `analytics` (calls, participants and quality into Postgres).
 * It serves only its health and metrics over HTTP and registers in Consul; its readiness is
 * Redis (the stream) and Postgres (where analytics writes): without either it cannot do its work.
 * While Postgres is down its handler fails, nothing is acknowledged, and it resumes from there.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { ConsulClient, registerHttpService, type Registration } from '@switchboard/consul';
import { createPool, migrate, type Pool } from '@switchboard/db';
import { UnavailableError } from '@switchboard/errors';
import { EVENT_STREAM, EventConsumer, type SwitchboardEvent } from '@switchboard/events';
import type { Logger } from '@switchboard/logger';
import { client as prom, collectedGauge, createRegistry } from '@switchboard/metrics';
import { closeRedis, serveOps } from '@switchboard/runtime';
import { Analytics } from './Analytics';
import type { EventsConfig } from './config';

export const ANALYTICS_GROUP = 'analytics';
/** Handled event ids are kept this long (a redelivery comes within minutes). */
const DEDUP_KEEP_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
const PG_CHECK_MS = 5000;

export class EventsService {
  readonly #config: EventsConfig;
  readonly #logger: Logger;
  readonly #redis: Redis;
  readonly #pool: Pool;
  readonly #http: HttpServer;
  readonly #analytics: Analytics;
  readonly #handled: prom.Counter<'group' | 'type' | 'outcome'>;
  #consumer?: EventConsumer;
  #registration?: Registration;
  #postgresOk = false;
  /** Entries of the group not yet delivered, and delivered but not acknowledged (read on scrape). */
  #backlog = { lag: 0, pending: 0 };
  #timers: NodeJS.Timeout[] = [];
  #closed = false;

  private constructor(config: EventsConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.#redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
    this.#pool = createPool(config.databaseUrl, { max: 4 });
    this.#analytics = new Analytics({ pool: this.#pool, reopenMs: config.reopenMs });
    const registry = createRegistry('events');
    this.#handled = new prom.Counter({
      name: 'switchboard_events_handled_total',
      help: 'Events handled by a consumer group, by type and outcome (applied, duplicate, failed)',
      labelNames: ['group', 'type', 'outcome'],
      registers: [registry],
    });
    collectedGauge(
      registry,
      'switchboard_events_lag',
      'Stream entries the analytics group has not read yet',
      () => this.#backlog.lag,
    );
    collectedGauge(
      registry,
      'switchboard_events_pending',
      'Entries delivered to the analytics group and not yet acknowledged',
      () => this.#backlog.pending,
    );
    this.#http = createServer((req, res) => {
      void (async () => {
        const health = () => this.health();
        if (await serveOps(registry, req, res, health)) {
          return;
        }
        res.writeHead(404).end('not found');
      })();
    });
  }

  static async create(config: EventsConfig, logger: Logger): Promise<EventsService> {
    const service = new EventsService(config, logger);
    try {
      await service.#start();
    } catch (error) {
      await service.close();
      throw error;
    }
    return service;
  }

  get port(): number {
    return (this.#http.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Ready when both the stream (Redis) and the analytics store (Postgres) answer. */
  health(): { ok: boolean; redis: string; postgres: boolean; lag: number; pending: number } {
    const ok = !this.#closed && this.#redis.status === 'ready' && this.#postgresOk;
    return { ok, redis: this.#redis.status, postgres: this.#postgresOk, ...this.#backlog };
  }

  async #start(): Promise<void> {
    try {
      await this.#redis.connect();
    } catch (error) {
      throw new UnavailableError('cannot connect to Redis', { cause: error });
    }
    try {
      await migrate(this.#pool, this.#logger);
      this.#postgresOk = true;
    } catch (error) {
      throw new UnavailableError('cannot connect to or migrate Postgres', { cause: error });
    }
    this.#consumer = await EventConsumer.create({
      redis: this.#redis,
      logger: this.#logger.child({ group: ANALYTICS_GROUP }),
      group: ANALYTICS_GROUP,
      consumer: this.#config.instanceId,
      claimIdleMs: this.#config.claimIdleMs,
      handle: (event) => this.#handle(event),
      onSkipped: (entryId, why) =>
        this.#logger.warn({ entryId, why }, 'skipped an entry of the event stream'),
    });
    this.#every(PG_CHECK_MS, () => this.#checkPostgres());
    this.#every(PG_CHECK_MS, () => this.#readBacklog());
    this.#every(PRUNE_EVERY_MS, async () => {
      const pruned = await this.#analytics.prune(DEDUP_KEEP_MS);
      this.#logger.info({ pruned }, 'forgot the ids of old handled events');
    });
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', (error) =>
        reject(new Error(`cannot listen on ${this.#config.host}:${this.#config.port}: ${error.message}`)),
      );
      this.#http.listen(this.#config.port, this.#config.host, () => resolve());
    });
    this.#logger.info({ port: this.port, consumer: this.#config.instanceId }, 'events service listening');
    this.#registration = await registerHttpService(
      new ConsulClient(this.#config.consulAddr, { token: this.#config.consulToken }),
      {
        name: 'events',
        instanceId: this.#config.instanceId,
        advertiseHost: this.#config.advertiseHost,
        port: this.port,
      },
      this.#logger,
    );
  }

  async #handle(event: SwitchboardEvent): Promise<void> {
    try {
      const applied = await this.#analytics.handle(event);
      this.#postgresOk = true;
      this.#handled.inc({
        group: ANALYTICS_GROUP,
        type: event.type,
        outcome: applied ? 'applied' : 'duplicate',
      });
    } catch (error) {
      this.#handled.inc({ group: ANALYTICS_GROUP, type: event.type, outcome: 'failed' });
      this.#logger.warn(
        { err: error, eventId: event.id, type: event.type, roomId: event.roomId, peerId: event.peerId },
        'could not apply an event to analytics; it stays pending and is tried again',
      );
      throw error;
    }
  }

  async #checkPostgres(): Promise<void> {
    try {
      await this.#pool.query('SELECT 1');
      this.#postgresOk = true;
    } catch {
      this.#postgresOk = false;
    }
  }

  async #readBacklog(): Promise<void> {
    const groups = (await this.#redis.xinfo('GROUPS', EVENT_STREAM)) as unknown[][];
    for (const fields of groups) {
      const info = Object.fromEntries(
        Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]),
      ) as Record<string, unknown>;
      if (info.name === ANALYTICS_GROUP) {
        this.#backlog = { lag: Number(info.lag ?? 0), pending: Number(info.pending ?? 0) };
      }
    }
  }

  /** Runs `work` every `ms` while open; a failure is logged at debug and tried next time. */
  #every(ms: number, work: () => Promise<void>): void {
    this.#timers.push(
      setInterval(() => {
        work().catch((error: unknown) => this.#logger.debug({ err: error }, 'periodic task failed'));
      }, ms),
    );
  }

  /** Deregisters, stops reading (an event being applied finishes), closes Redis and Postgres. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#registration?.deregister();
    this.#timers.forEach(clearInterval);
    await this.#consumer?.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
    await Promise.allSettled([closeRedis(this.#redis), this.#pool.end()]);
    this.#logger.info('events service closed');
  }
}
