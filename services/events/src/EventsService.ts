/**
 * The events service: the consumers of the lifecycle event stream (`sb:events`), each in a
 * consumer group of its own: `analytics` (calls, participants and quality into Postgres) and
 * `webhooks` (each event fanned out into the delivery log of every endpoint that wants it, then
 * sent by WebhookSender, signed, with retries).
 * It serves only its health and metrics over HTTP and registers in Consul; its readiness is
 * Redis (the stream) and Postgres (where analytics writes): without either it cannot do its work.
 * While Postgres is down its handler fails, nothing is acknowledged, and it resumes from there.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { ConsulClient, registerHttpService, type Registration } from '@switchboard/consul';
import { createPool, migrate, WebhookStore, type Pool } from '@switchboard/db';
import { UnavailableError } from '@switchboard/errors';
import { EVENT_STREAM, EventConsumer, type SwitchboardEvent } from '@switchboard/events';
import type { Logger } from '@switchboard/logger';
import { client as prom, collectedGauge, createRegistry } from '@switchboard/metrics';
import { closeRedis, serveOps } from '@switchboard/runtime';
import { Analytics } from './Analytics';
import type { EventsConfig } from './config';
import { WebhookSender } from './WebhookSender';

export const ANALYTICS_GROUP = 'analytics';
export const WEBHOOKS_GROUP = 'webhooks';
const GROUPS = [ANALYTICS_GROUP, WEBHOOKS_GROUP] as const;
type Group = (typeof GROUPS)[number];
/** Finished webhook deliveries stay in the log this long. */
const DELIVERY_LOG_KEEP_MS = 7 * 86_400_000;
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
  readonly #webhooks: WebhookStore;
  readonly #sender: WebhookSender;
  readonly #handled: prom.Counter<'group' | 'type' | 'outcome'>;
  readonly #consumers: EventConsumer[] = [];
  #registration?: Registration;
  #postgresOk = false;
  /** Per group: entries not yet delivered to it, and delivered but not acknowledged (read every few seconds). */
  #backlog: Record<Group, { lag: number; pending: number }> = {
    analytics: { lag: 0, pending: 0 },
    webhooks: { lag: 0, pending: 0 },
  };
  #deliveryBacklog = 0;
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
    const backlog = this.#backlog;
    new prom.Gauge({
      name: 'switchboard_events_lag',
      help: 'Stream entries a consumer group has not read yet',
      labelNames: ['group'],
      registers: [registry],
      collect() {
        GROUPS.forEach((group) => this.set({ group }, backlog[group].lag));
      },
    });
    new prom.Gauge({
      name: 'switchboard_events_pending',
      help: 'Entries delivered to a consumer group and not yet acknowledged',
      labelNames: ['group'],
      registers: [registry],
      collect() {
        GROUPS.forEach((group) => this.set({ group }, backlog[group].pending));
      },
    });
    collectedGauge(
      registry,
      'switchboard_webhook_backlog',
      'Webhook deliveries waiting to be sent (new or to retry) or being sent',
      () => this.#deliveryBacklog,
    );
    this.#webhooks = new WebhookStore(this.#pool);
    this.#sender = new WebhookSender({
      store: this.#webhooks,
      logger: logger.child({ component: 'webhooks' }),
      timeoutMs: config.webhooks.timeoutMs,
      backoffMs: config.webhooks.backoffMs,
      maxBackoffMs: config.webhooks.maxBackoffMs,
      maxAttempts: config.webhooks.maxAttempts,
      deliveries: new prom.Counter({
        name: 'switchboard_webhook_deliveries_total',
        help: 'Webhook delivery attempts by outcome (delivered, retry, gave_up)',
        labelNames: ['outcome'],
        registers: [registry],
      }),
      latency: new prom.Histogram({
        name: 'switchboard_webhook_latency_seconds',
        help: 'From an event to its webhook delivery (successful deliveries, retries included)',
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
        registers: [registry],
      }),
    });
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

  /** Ready when both the stream (Redis) and Postgres (analytics, the delivery log) answer. */
  health(): {
    ok: boolean;
    redis: string;
    postgres: boolean;
    groups: Record<Group, { lag: number; pending: number }>;
    webhookBacklog: number;
  } {
    const ok = !this.#closed && this.#redis.status === 'ready' && this.#postgresOk;
    return {
      ok,
      redis: this.#redis.status,
      postgres: this.#postgresOk,
      groups: this.#backlog,
      webhookBacklog: this.#deliveryBacklog,
    };
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
    for (const group of GROUPS) {
      this.#consumers.push(
        await EventConsumer.create({
          redis: this.#redis,
          logger: this.#logger.child({ group }),
          group,
          consumer: this.#config.instanceId,
          claimIdleMs: this.#config.claimIdleMs,
          handle: (event) => this.#handle(group, event),
          onSkipped: (entryId, why) =>
            this.#logger.warn({ entryId, why, group }, 'skipped an entry of the event stream'),
        }),
      );
    }
    this.#sender.start();
    this.#every(PG_CHECK_MS, () => this.#checkPostgres());
    this.#every(PG_CHECK_MS, () => this.#readBacklog());
    this.#every(PRUNE_EVERY_MS, async () => {
      const pruned = await this.#analytics.prune(DEDUP_KEEP_MS);
      const deliveries = await this.#webhooks.prune(DELIVERY_LOG_KEEP_MS);
      this.#logger.info({ pruned, deliveries }, 'forgot old handled event ids and webhook deliveries');
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

  async #handle(group: Group, event: SwitchboardEvent): Promise<void> {
    try {
      let applied: boolean;
      if (group === ANALYTICS_GROUP) {
        applied = await this.#analytics.handle(event);
      } else {
        applied = (await this.#webhooks.enqueue({ ...event, body: JSON.stringify(event) })) > 0;
        if (applied) {
          this.#sender.kick();
        }
      }
      this.#postgresOk = true;
      this.#handled.inc({ group, type: event.type, outcome: applied ? 'applied' : 'duplicate' });
    } catch (error) {
      this.#handled.inc({ group, type: event.type, outcome: 'failed' });
      this.#logger.warn(
        {
          err: error,
          group,
          eventId: event.id,
          type: event.type,
          roomId: event.roomId,
          peerId: event.peerId,
        },
        'could not handle an event; it stays pending and is tried again',
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
      const group = info.name as Group;
      if (GROUPS.includes(group)) {
        this.#backlog[group] = { lag: Number(info.lag ?? 0), pending: Number(info.pending ?? 0) };
      }
    }
    this.#deliveryBacklog = await this.#webhooks.backlog();
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
    await Promise.all(this.#consumers.map((consumer) => consumer.close()));
    await this.#sender.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
    await Promise.allSettled([closeRedis(this.#redis), this.#pool.end()]);
    this.#logger.info('events service closed');
  }
}
