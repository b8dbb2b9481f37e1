/**
 * Sends webhook deliveries: takes due ones from the delivery log (WebhookStore.claimDue: several
 * senders share the work, a dead sender's deliveries are taken again when their lease ends),
 * POSTs each signed body with a deadline, and records the outcome: delivered on a 2xx; otherwise
 * tried again after an exponential backoff (with jitter) until the last attempt, then `failed`.
 * At most `perEndpoint` deliveries are in flight to one endpoint and `maxInFlight` in all, so a
 * slow or dead endpoint holds its own slots only. Each connection goes through `guardedLookup`
 * unless the endpoint is allowed internal addresses: a name that resolves inward is refused.
 * Calls never wait for any of this: it runs in the events service, off the event stream.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { WebhookDelivery, WebhookEndpoint, WebhookStore } from '@switchboard/db';
import {
  DELIVERY_HEADER,
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
} from '@switchboard/events';
import type { Logger } from '@switchboard/logger';
import type { client as prom } from '@switchboard/metrics';
import { guardedLookup, isInternalAddress } from '@switchboard/runtime';

export interface WebhookSenderOptions {
  store: WebhookStore;
  logger: Logger;
  /** One attempt's deadline (connect, send, response headers). */
  timeoutMs: number;
  /** The wait after the first failure; doubled after each further one, up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Attempts before a delivery is given up (`failed`). */
  maxAttempts: number;
  perEndpoint?: number;
  maxInFlight?: number;
  /** How often due retries are looked for (new deliveries are sent at once through `kick()`). */
  pollMs?: number;
  deliveries: prom.Counter<'outcome'>;
  /** From the event's time to its delivery, for deliveries that succeed. */
  latency: prom.Histogram;
}

const USER_AGENT = 'Switchboard-Webhooks/1';

export class WebhookSender {
  readonly #o: Required<WebhookSenderOptions>;
  #inFlight = 0;
  #claiming?: Promise<void>;
  #again = false;
  #timer?: NodeJS.Timeout;
  #closed = false;
  readonly #sending = new Set<Promise<void>>();

  constructor(options: WebhookSenderOptions) {
    this.#o = { perEndpoint: 4, maxInFlight: 64, pollMs: 500, ...options };
  }

  start(): void {
    this.#timer = setInterval(() => this.kick(), this.#o.pollMs);
  }

  /** Looks for due deliveries now (new ones were just added). */
  kick(): void {
    if (this.#closed) {
      return;
    }
    if (this.#claiming) {
      this.#again = true;
      return;
    }
    this.#claiming = this.#claim()
      .catch((error: unknown) => this.#o.logger.warn({ err: error }, 'could not take webhook deliveries'))
      .finally(() => {
        this.#claiming = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  async #claim(): Promise<void> {
    const room = this.#o.maxInFlight - this.#inFlight;
    if (room <= 0) {
      return;
    }
    const claimed = await this.#o.store.claimDue(room, this.#o.perEndpoint, this.#o.timeoutMs * 3);
    for (const delivery of claimed) {
      this.#inFlight++;
      const sending = this.#send(delivery).finally(() => {
        this.#inFlight--;
        this.#sending.delete(sending);
      });
      this.#sending.add(sending);
    }
  }

  async #send(delivery: WebhookDelivery & { endpoint: WebhookEndpoint }): Promise<void> {
    const { endpoint } = delivery;
    const logger = this.#o.logger.child({
      webhook: endpoint.id,
      delivery: delivery.id,
      eventId: delivery.eventId,
      roomId: delivery.roomId ?? undefined,
    });
    let outcome: { ok: true; status: number } | { ok: false; error: string; status: number | null };
    try {
      const status = await this.#post(endpoint, delivery);
      outcome =
        status >= 200 && status < 300 ? { ok: true, status } : { ok: false, error: `HTTP ${status}`, status };
    } catch (error) {
      outcome = { ok: false, error: describe(error), status: null };
    }
    if (outcome.ok) {
      await this.#o.store.markDelivered(delivery.id, outcome.status);
      this.#o.deliveries.inc({ outcome: 'delivered' });
      this.#o.latency.observe((Date.now() - delivery.eventTime.getTime()) / 1000);
      logger.debug({ attempt: delivery.attempts, status: outcome.status }, 'webhook delivered');
      return;
    }
    const last = delivery.attempts >= this.#o.maxAttempts;
    const retryInMs = last ? undefined : this.backoff(delivery.attempts);
    await this.#o.store.markFailed(delivery.id, outcome.error, outcome.status, retryInMs);
    this.#o.deliveries.inc({ outcome: last ? 'gave_up' : 'retry' });
    logger[last ? 'warn' : 'info'](
      { attempt: delivery.attempts, error: outcome.error, status: outcome.status, retryInMs },
      last ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry',
    );
  }

  /** The wait after the `attempt`-th failure: backoffMs·2^(attempt-1), ±20 %, at most maxBackoffMs. */
  backoff(attempt: number): number {
    const base = Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** (attempt - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  #post(endpoint: WebhookEndpoint, delivery: WebhookDelivery): Promise<number> {
    const url = new URL(endpoint.url);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // A name goes through guardedLookup; an address in the URL is never looked up: judged here.
    const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!endpoint.allowInternal && isIP(literal) && isInternalAddress(literal)) {
      return Promise.reject(new Error(`${literal} is an internal address`));
    }
    return new Promise<number>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': USER_AGENT,
            [SIGNATURE_HEADER]: signWebhook(endpoint.secret, delivery.body),
            [EVENT_ID_HEADER]: delivery.eventId,
            [EVENT_TYPE_HEADER]: delivery.eventType,
            [DELIVERY_HEADER]: delivery.id,
          },
          lookup: endpoint.allowInternal ? undefined : guardedLookup,
          signal: AbortSignal.timeout(this.#o.timeoutMs),
        },
        (res: IncomingMessage) => {
          res.resume(); // the answer's body is not read, only its status (redirects are not followed)
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(delivery.body);
    });
  }

  /** Stops taking deliveries; those in flight finish (each within its deadline). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#claiming;
    await Promise.allSettled([...this.#sending]);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    if (error.name === 'TimeoutError' || error.name === 'AbortError') {
      return 'no answer in time';
    }
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
