/**
 * Webhook endpoints (operators register them: URL, the event types they want, a signing secret)
 * and their delivery log: one row per endpoint and event, with its status (`pending`, `sending`
 * while an attempt is in flight, `delivered`, `failed` after the last attempt), attempts, last
 * error and when it is tried next. Written by the events service (fan-out and sending) and the
 * gateway (endpoints); read by the console.
 */
import type { Pool } from 'pg';

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed';

export interface WebhookEndpoint {
  id: string;
  url: string;
  /** Event types, or `*` for all. */
  events: string[];
  secret: string;
  allowInternal: boolean;
  description: string;
  createdAt: Date;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  roomId: string | null;
  eventTime: Date;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  lastStatusCode: number | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  secret: string;
  allow_internal: boolean;
  description: string;
  created_at: Date;
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  room_id: string | null;
  event_time: Date;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  last_status_code: number | null;
  created_at: Date;
  delivered_at: Date | null;
}

const ENDPOINT_COLUMNS = 'id, url, events, secret, allow_internal, description, created_at';
const DELIVERY_COLUMNS = `id, endpoint_id, event_id, event_type, room_id, event_time, body, status, attempts,
  next_attempt_at, last_error, last_status_code, created_at, delivered_at`;

const endpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id,
  url: row.url,
  events: row.events,
  secret: row.secret,
  allowInternal: row.allow_internal,
  description: row.description,
  createdAt: row.created_at,
});

const delivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  endpointId: row.endpoint_id,
  eventId: row.event_id,
  eventType: row.event_type,
  roomId: row.room_id,
  eventTime: row.event_time,
  body: row.body,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  lastError: row.last_error,
  lastStatusCode: row.last_status_code,
  createdAt: row.created_at,
  deliveredAt: row.delivered_at,
});

export class WebhookStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async createEndpoint(opts: {
    url: string;
    events: string[];
    secret: string;
    allowInternal: boolean;
    description: string;
    createdBy: string | null;
  }): Promise<WebhookEndpoint> {
    const { rows } = await this.#pool.query<EndpointRow>(
      `INSERT INTO webhook_endpoints (url, events, secret, allow_internal, description, created_by)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ENDPOINT_COLUMNS}`,
      [
        opts.url,
        [...new Set(opts.events)].sort(),
        opts.secret,
        opts.allowInternal,
        opts.description,
        opts.createdBy,
      ],
    );
    return endpoint(rows[0]);
  }

  async endpoints(): Promise<WebhookEndpoint[]> {
    const { rows } = await this.#pool.query<EndpointRow>(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at DESC`,
    );
    return rows.map(endpoint);
  }

  async endpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const { rows } = await this.#pool.query<EndpointRow>(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1`,
      [id],
    );
    return rows[0] && endpoint(rows[0]);
  }

  /** Deletes an endpoint and its delivery log (false: no such endpoint). */
  async deleteEndpoint(id: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * One pending delivery of the event to each endpoint that wants its type (once: a repeat of the
   * same event adds nothing). Returns how many were added.
   */
  async enqueue(event: {
    id: string;
    type: string;
    roomId?: string;
    time: string;
    body: string;
  }): Promise<number> {
    const { rowCount } = await this.#pool.query(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, room_id, event_time, body)
       SELECT id, $1, $2, $3, $4, $5 FROM webhook_endpoints WHERE $2 = ANY(events) OR '*' = ANY(events)
       ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
      [event.id, event.type, event.roomId ?? null, event.time, event.body],
    );
    return rowCount ?? 0;
  }

  /**
   * Takes up to `limit` due deliveries for sending (at most `perEndpoint` in flight for any one
   * endpoint, counting those already sending): marks them `sending` with a lease of `leaseMs`
   * (a sender that dies leaves them to be taken again when it ends) and counts the attempt.
   * Several senders may claim at once: each row goes to one.
   */
  async claimDue(
    limit: number,
    perEndpoint: number,
    leaseMs: number,
  ): Promise<(WebhookDelivery & { endpoint: WebhookEndpoint })[]> {
    const { rows } = await this.#pool.query<
      DeliveryRow & { [K in keyof EndpointRow as `e_${K}`]: EndpointRow[K] }
    >(
      `WITH in_flight AS (
         SELECT endpoint_id, count(*) AS n FROM webhook_deliveries
          WHERE status = 'sending' AND lease_until > now() GROUP BY endpoint_id
       ), due AS (
         SELECT d.id, row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.created_at) AS rank,
                coalesce(f.n, 0) AS busy
           FROM webhook_deliveries d LEFT JOIN in_flight f ON f.endpoint_id = d.endpoint_id
          WHERE (d.status = 'pending' AND d.next_attempt_at <= now())
             OR (d.status = 'sending' AND d.lease_until <= now())
       ), chosen AS (
         SELECT id FROM webhook_deliveries
          WHERE id IN (SELECT id FROM due WHERE rank + busy <= $2)
            -- Checked again on the locked row: another sender that took it since sees it sending.
            AND ((status = 'pending' AND next_attempt_at <= now()) OR (status = 'sending' AND lease_until <= now()))
          ORDER BY next_attempt_at LIMIT $1
          FOR UPDATE SKIP LOCKED
       )
       UPDATE webhook_deliveries d
          SET status = 'sending', lease_until = now() + $3 * interval '1 millisecond', attempts = attempts + 1
         FROM chosen, webhook_endpoints e
        WHERE d.id = chosen.id AND e.id = d.endpoint_id
       RETURNING ${DELIVERY_COLUMNS.split(',')
         .map((c) => `d.${c.trim()}`)
         .join(', ')},
         e.id AS e_id, e.url AS e_url, e.events AS e_events, e.secret AS e_secret,
         e.allow_internal AS e_allow_internal, e.description AS e_description, e.created_at AS e_created_at`,
      [limit, perEndpoint, leaseMs],
    );
    return rows.map((row) => ({
      ...delivery(row),
      endpoint: endpoint({
        id: row.e_id,
        url: row.e_url,
        events: row.e_events,
        secret: row.e_secret,
        allow_internal: row.e_allow_internal,
        description: row.e_description,
        created_at: row.e_created_at,
      }),
    }));
  }

  async markDelivered(id: string, statusCode: number): Promise<void> {
    await this.#pool.query(
      `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), lease_until = NULL,
              last_status_code = $2, last_error = NULL WHERE id = $1`,
      [id, statusCode],
    );
  }

  /** An attempt failed: tried again after `retryInMs`, or `failed` for good when that is undefined. */
  async markFailed(
    id: string,
    error: string,
    statusCode: number | null,
    retryInMs: number | undefined,
  ): Promise<void> {
    await this.#pool.query(
      `UPDATE webhook_deliveries
          SET status = CASE WHEN $4::bigint IS NULL THEN 'failed' ELSE 'pending' END,
              next_attempt_at = now() + coalesce($4::bigint, 0) * interval '1 millisecond',
              lease_until = NULL, last_error = $2, last_status_code = $3
        WHERE id = $1`,
      [id, error.slice(0, 500), statusCode, retryInMs ?? null],
    );
  }

  /** An endpoint's deliveries, newest first. */
  async deliveries(endpointId: string, limit = 50): Promise<WebhookDelivery[]> {
    const { rows } = await this.#pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
      [endpointId, limit],
    );
    return rows.map(delivery);
  }

  /** Deliveries waiting to be sent or being sent, over all endpoints. */
  async backlog(): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM webhook_deliveries WHERE status IN ('pending', 'sending')`,
    );
    return Number(rows[0].n);
  }

  /** Forgets finished deliveries older than `keepMs`. */
  async prune(keepMs: number): Promise<number> {
    const { rowCount } = await this.#pool.query(
      `DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND created_at < now() - $1 * interval '1 millisecond'`,
      [keepMs],
    );
    return rowCount ?? 0;
  }
}
