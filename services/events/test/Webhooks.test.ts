/**
 * Webhooks end to end (the events service as a process, real Redis stream, Postgres, Consul; real
 * HTTP receivers): each event is delivered signed, once, to every endpoint that wants its type; an
 * endpoint down for 30 s gets everything once it is back, retried with growing waits, while the
 * others get theirs at once; a slow endpoint holds up no one; an internal address is refused at
 * delivery unless the endpoint allows it; a delivery that keeps failing is given up, after a
 * restart of the service under the same name that picks up where it was.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, WebhookStore, type Pool, type WebhookEndpoint } from '@switchboard/db';
import {
  EventLog,
  EVENT_ID_HEADER,
  newWebhookSecret,
  SIGNATURE_HEADER,
  verifyWebhookSignature,
  type NewEvent,
} from '@switchboard/events';
import { createLogger } from '@switchboard/logger';
import { passingInConsul, startEventsProcess, type EventsProcess } from './process';
import {
  freePort,
  startConsul,
  startPrivatePostgres,
  startPrivateRedis,
  waitFor,
  type ConsulAgent,
  type PrivateServer,
} from '@switchboard/testing';

const logger = createLogger({ service: 'test', level: 'warn' }).logger;

interface Received {
  at: number;
  body: string;
  headers: IncomingHttpHeaders;
}

/** An HTTP endpoint that records what it is sent and answers with `status()` after `delayMs()`. */
class Receiver {
  readonly got: Received[] = [];
  status = () => 204;
  delayMs = () => 0;
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const status = this.status();
        if (status < 300) {
          this.got.push({ at: Date.now(), body, headers: req.headers });
        }
        this.attempts.push(Date.now());
        setTimeout(() => res.writeHead(status).end(), this.delayMs()).unref();
      });
    });
  }

  readonly attempts: number[] = [];

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  ids(): string[] {
    return this.got.map((r) => (JSON.parse(r.body) as { id: string }).id);
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }
}

describe('webhooks (events service, real Redis, Postgres, HTTP receivers)', () => {
  let consul: ConsulAgent;
  let pg: PrivateServer;
  let redisServer: PrivateServer;
  let redis: Redis;
  let pool: Pool;
  let store: WebhookStore;
  let log: EventLog;
  let port: number;
  const receivers: Receiver[] = [];
  let service: EventsProcess | undefined;

  const start = (env: Record<string, string> = {}) =>
    (service = startEventsProcess(
      { consulAddr: consul.addr, databaseUrl: pg.url, redisUrl: redisServer.url, port },
      {
        EVENTS_INSTANCE_ID: 'events-webhooks-test',
        WEBHOOK_TIMEOUT_MS: '1000',
        WEBHOOK_BACKOFF_MS: '1000',
        WEBHOOK_MAX_BACKOFF_MS: '4000',
        WEBHOOK_MAX_ATTEMPTS: '20',
        ...env,
      },
    ));
  const passing = () => passingInConsul(consul, service);

  const endpoint = async (
    receiver: Receiver,
    events: string[],
    allowInternal = true,
  ): Promise<WebhookEndpoint> =>
    store.createEndpoint({
      url: await receiver.listen(),
      events,
      secret: newWebhookSecret(),
      allowInternal,
      description: '',
      createdBy: null,
    });
  const receiver = () => {
    const r = new Receiver();
    receivers.push(r);
    return r;
  };
  const room = (name: string) => `webhooks-${name}-${Date.now()}`;
  const joined = (roomId: string, i: number): NewEvent => ({
    type: 'participant.joined',
    roomId,
    peerId: `p${i}`,
    data: { sub: `guest:${i}`, displayName: `P${i}`, role: 'participant' },
  });
  /** Appends and returns the event's id as the stream has it. */
  const append = async (event: NewEvent): Promise<string> => {
    const before = await redis.xrevrange('sb:events', '+', '-', 'COUNT', 1);
    log.append(event);
    let id = '';
    await waitFor(async () => {
      const [last] = await redis.xrevrange('sb:events', '+', '-', 'COUNT', 1);
      if (last && last[0] !== before[0]?.[0]) {
        id = (JSON.parse(last[1][1]) as { id: string }).id;
        return true;
      }
      return false;
    });
    return id;
  };

  beforeAll(async () => {
    [consul, pg, redisServer, port] = await Promise.all([
      startConsul(),
      startPrivatePostgres(),
      startPrivateRedis(),
      freePort(),
    ]);
    redis = new Redis(redisServer.url);
    pool = createPool(pg.url);
    store = new WebhookStore(pool);
    log = EventLog.create({ redis, logger });
    start();
    await passing();
  }, 120_000);

  afterAll(async () => {
    service?.child.kill('SIGKILL');
    receivers.forEach((r) => r.close());
    await log?.close();
    redis?.disconnect();
    await pool?.end();
    await Promise.allSettled([pg?.close(), redisServer?.close(), consul?.close()]);
  });

  it('delivers each event, signed, once, to the endpoints that want its type', async () => {
    const some = receiver();
    const all = receiver();
    const joinsOnly = await endpoint(some, ['participant.joined', 'room.ended']);
    const everything = await endpoint(all, ['*']);
    const roomId = room('signed');
    const ids = [
      await append({ type: 'room.started', roomId, data: {} }),
      await append(joined(roomId, 1)),
      await append({ type: 'participant.left', roomId, peerId: 'p1', data: { reason: 'left' } }),
      await append({ type: 'room.ended', roomId, data: {} }),
    ];
    await waitFor(() => all.got.length === 4 && some.got.length === 2, { what: 'the deliveries' });
    expect(all.ids().sort()).toEqual([...ids].sort());
    expect(some.ids().sort()).toEqual([ids[1], ids[3]].sort());
    for (const [r, e] of [
      [all, everything],
      [some, joinsOnly],
    ] as const) {
      for (const delivery of r.got) {
        const signature = delivery.headers[SIGNATURE_HEADER] as string;
        expect(verifyWebhookSignature(e.secret, delivery.body, signature)).toBe(true);
        // Another secret, a changed body or an old timestamp do not pass.
        expect(verifyWebhookSignature(newWebhookSecret(), delivery.body, signature)).toBe(false);
        expect(verifyWebhookSignature(e.secret, `${delivery.body} `, signature)).toBe(false);
        expect(
          verifyWebhookSignature(e.secret, delivery.body, signature, {
            now: Math.floor(Date.now() / 1000) + 600,
          }),
        ).toBe(false);
        const event = JSON.parse(delivery.body) as { id: string; type: string; roomId: string; time: string };
        expect(delivery.headers[EVENT_ID_HEADER]).toBe(event.id);
        expect(event).toMatchObject({ roomId, version: 1 });
      }
    }
    const logged = await store.deliveries(everything.id);
    expect(logged.filter((d) => d.roomId === roomId).map((d) => [d.status, d.attempts])).toEqual(
      Array.from({ length: 4 }, () => ['delivered', 1]),
    );
    // Nothing arrives twice.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(all.got).toHaveLength(4);
  });

  it('retries an endpoint that is down for 30 s with growing waits, then delivers everything once; the others get theirs at once', async () => {
    const down = receiver();
    const up = receiver();
    let back = false;
    down.status = () => (back ? 200 : 503);
    const downEndpoint = await endpoint(down, ['participant.joined']);
    await endpoint(up, ['participant.joined']);
    const roomId = room('outage');
    const started = Date.now();
    const sent: string[] = [];
    const lateness: number[] = [];
    for (let i = 0; i < 20; i++) {
      const id = await append(joined(roomId, i));
      sent.push(id);
      const at = Date.now();
      await waitFor(() => up.ids().includes(id), { what: `event ${i} at the endpoint that is up` });
      lateness.push(Date.now() - at);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    // The healthy endpoint was never held up by the dead one.
    expect(Math.max(...lateness)).toBeLessThan(1500);
    // Meanwhile the delivery log says what is going on.
    const waiting = (await store.deliveries(downEndpoint.id)).filter((d) => d.roomId === roomId);
    expect(waiting.length).toBe(20);
    expect(waiting.every((d) => d.status === 'pending' || d.status === 'sending')).toBe(true);
    expect(waiting.find((d) => d.attempts > 1)).toMatchObject({ lastError: 'HTTP 503', lastStatusCode: 503 });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 30_000 - Date.now())));
    back = true;
    await waitFor(() => down.got.length === 20, { timeoutMs: 15_000, what: 'every event after the outage' });
    expect(down.ids().sort()).toEqual([...sent].sort());
    const done = (await store.deliveries(downEndpoint.id)).filter((d) => d.roomId === roomId);
    expect(done.every((d) => d.status === 'delivered' && d.lastError === null)).toBe(true);
    // The first event's attempts came further and further apart (1, 2, 4, 4 s, ±20 %).
    const first = done.find((d) => d.eventId === sent[0]);
    expect(first!.attempts).toBeGreaterThanOrEqual(8);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(down.got).toHaveLength(20);
  }, 90_000);

  it('lets a slow endpoint time out without holding up another', async () => {
    const slow = receiver();
    const quick = receiver();
    slow.delayMs = () => 10_000;
    const slowEndpoint = await endpoint(slow, ['participant.joined']);
    await endpoint(quick, ['participant.joined']);
    const roomId = room('slow');
    for (let i = 0; i < 5; i++) {
      const id = await append(joined(roomId, i));
      const at = Date.now();
      await waitFor(() => quick.ids().includes(id), { what: `event ${i} at the quick endpoint` });
      expect(Date.now() - at).toBeLessThan(1000);
    }
    await waitFor(
      async () =>
        (await store.deliveries(slowEndpoint.id)).some(
          (d) => d.roomId === roomId && d.lastError === 'no answer in time',
        ),
      { timeoutMs: 5000, what: 'the slow endpoint timed out' },
    );
    await store.deleteEndpoint(slowEndpoint.id);
  });

  it('refuses to deliver to an internal address unless the endpoint allows it', async () => {
    const inside = receiver();
    const refused = await endpoint(inside, ['participant.joined'], false);
    const roomId = room('internal');
    await append(joined(roomId, 1));
    await waitFor(
      async () => (await store.deliveries(refused.id)).some((d) => d.attempts >= 1 && d.lastError),
      {
        what: 'a failed attempt',
      },
    );
    const [attempt] = await store.deliveries(refused.id);
    expect(attempt.lastError).toMatch(/127\.0\.0\.1 is an internal address/);
    expect(inside.attempts).toHaveLength(0);
    await store.deleteEndpoint(refused.id);
    // A name that resolves inward is refused when connecting (as it would be after DNS rebinding).
    const named = await store.createEndpoint({
      url: refused.url.replace('127.0.0.1', 'localhost'),
      events: ['participant.joined'],
      secret: newWebhookSecret(),
      allowInternal: false,
      description: '',
      createdBy: null,
    });
    await append(joined(roomId, 2));
    await waitFor(async () => (await store.deliveries(named.id)).some((d) => d.lastError), {
      what: 'a failed attempt by name',
    });
    expect((await store.deliveries(named.id))[0].lastError).toMatch(
      /localhost resolves to (127\.0\.0\.1|::1), an internal address/,
    );
    expect(inside.attempts).toHaveLength(0);
    await store.deleteEndpoint(named.id);
  });

  it('gives a delivery up after the last attempt; a restarted service picks up where it was', async () => {
    service!.child.kill('SIGTERM');
    expect(await service!.exit).toBe(0);
    start({ WEBHOOK_BACKOFF_MS: '200', WEBHOOK_MAX_BACKOFF_MS: '400', WEBHOOK_MAX_ATTEMPTS: '3' });
    await passing();
    const broken = receiver();
    broken.status = () => 500;
    const hopeless = await endpoint(broken, ['room.started']);
    const roomId = room('hopeless');
    await append({ type: 'room.started', roomId, data: {} });
    await waitFor(async () => (await store.deliveries(hopeless.id))[0]?.status === 'failed', {
      timeoutMs: 10_000,
      what: 'the delivery given up',
    });
    expect(await store.deliveries(hopeless.id)).toMatchObject([
      { attempts: 3, lastError: 'HTTP 500', status: 'failed' },
    ]);
    expect(broken.attempts).toHaveLength(3);
    const metrics = () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    await waitFor(
      async () =>
        /switchboard_webhook_deliveries_total\{outcome="gave_up"[^}]*\} [1-9]/.test(await metrics()),
      {
        what: 'the give-up counted in /metrics',
      },
    );
    expect(await metrics()).toMatch(/switchboard_events_lag\{group="webhooks"/);
  }, 90_000);
});
