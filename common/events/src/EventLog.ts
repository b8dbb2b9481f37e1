/**
 * Writes lifecycle events onto the Redis stream (`sb:events`, trimmed to about `maxLength`
 * entries), from the one place that owns the state each event is about. Writing never waits for
 * Redis on the call path: `append()` queues the event and returns it; a background loop writes the
 * queue in order, in pipelined batches. While Redis is unreachable the events wait in a bounded
 * queue (`maxQueued`): beyond it the oldest are dropped and counted, and the loop retries with
 * backoff. `close()` writes what it can within its deadline.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '@switchboard/logger';
import { EVENT_SCHEMA_VERSION, type NewEvent, type SwitchboardEvent } from './schema';

export const EVENT_STREAM = 'sb:events';
/** Entries the stream keeps at least (XADD MAXLEN ~), unless a writer is told otherwise. */
export const EVENT_STREAM_MAX_LENGTH = 100_000;

export interface EventLogOptions {
  /** A connection to copy (the log writes through its own, which fails fast while disconnected). */
  redis: Redis;
  logger: Logger;
  stream?: string;
  /** Entries the stream keeps at least (XADD MAXLEN ~). */
  maxLength?: number;
  /** Events waiting at most while Redis is unreachable; the oldest beyond it are dropped. */
  maxQueued?: number;
}

const BATCH = 200;
const RETRY_MS = [100, 250, 500, 1000, 2000, 5000];

/**
 * An event as it goes onto the stream: with its id, schema version and time. For writers that put
 * it there themselves (a Lua script that writes an event in the same step as the state it is about).
 */
export function stampEvent(event: NewEvent): SwitchboardEvent {
  return { ...event, id: eventId(), version: EVENT_SCHEMA_VERSION, time: new Date().toISOString() };
}

let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of milliseconds, a 12-bit counter within the millisecond (so ids
 * made by one process sort in the order they were made, RFC 9562's method 1), then random bits.
 */
export function eventId(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs++; // 4,096 in one millisecond: borrow the next one
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What a state owner appends events through (an \`EventLog\`, or a test's list). */
export type EventSink = Pick<EventLog, 'append'>;

export class EventLog {
  readonly #redis: Redis;
  readonly #logger: Logger;
  readonly #stream: string;
  readonly #maxLength: number;
  readonly #maxQueued: number;
  readonly #queue: SwitchboardEvent[] = [];
  #dropped = 0;
  #writing?: Promise<void>;
  #closed = false;

  private constructor(opts: EventLogOptions) {
    this.#redis = opts.redis.duplicate({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      enableAutoPipelining: false,
    });
    this.#redis.on('error', () => {}); // reported by the write loop, once per outage
    this.#logger = opts.logger;
    this.#stream = opts.stream ?? EVENT_STREAM;
    this.#maxLength = opts.maxLength ?? EVENT_STREAM_MAX_LENGTH;
    this.#maxQueued = opts.maxQueued ?? 10_000;
  }

  static create(opts: EventLogOptions): EventLog {
    return new EventLog(opts);
  }

  /** Events waiting to be written. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Events dropped since the start because the queue was full (Redis unreachable too long). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues an event for the stream; returns it with its id and time. Never throws, never waits. */
  append(event: NewEvent): SwitchboardEvent {
    const full = stampEvent(event);
    if (this.#closed) {
      this.#dropped++;
      return full;
    }
    this.#queue.push(full);
    if (this.#queue.length > this.#maxQueued) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#writing ??= this.#writeAll().finally(() => {
      this.#writing = undefined;
    });
    return full;
  }

  /** Resolves once everything queued so far is written (or the log is closed). */
  async flush(): Promise<void> {
    while (this.#writing) {
      await this.#writing;
    }
  }

  /** Writes what is queued, waiting at most `timeoutMs`, then closes the connection; idempotent. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.#closed) {
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.flush(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.#closed = true;
    if (this.#queue.length > 0) {
      this.#logger.warn({ lost: this.#queue.length }, 'event log closed with events not written');
      this.#dropped += this.#queue.splice(0).length;
    }
    this.#redis.disconnect();
  }

  async #writeAll(): Promise<void> {
    let failures = 0;
    while (this.#queue.length > 0 && !this.#closed) {
      const batch = this.#queue.slice(0, BATCH);
      try {
        const pipeline = this.#redis.pipeline();
        for (const event of batch) {
          pipeline.xadd(
            this.#stream,
            'MAXLEN',
            '~',
            String(this.#maxLength),
            '*',
            'event',
            JSON.stringify(event),
          );
        }
        const results = (await pipeline.exec()) ?? [];
        // Only what was written leaves the queue (a retry must not write an event twice); the
        // queue may also have dropped its oldest meanwhile.
        const written = new Set(batch.filter((_, i) => results[i] && !results[i][0]));
        for (let i = this.#queue.length - 1; i >= 0; i--) {
          if (written.has(this.#queue[i])) {
            this.#queue.splice(i, 1);
          }
        }
        const failed = results.find(([error]) => error);
        if (failed || results.length < batch.length) {
          throw failed?.[0] ?? new Error('the pipeline answered fewer replies than commands');
        }
        if (failures > 0) {
          this.#logger.info(
            { queued: this.#queue.length, dropped: this.#dropped },
            'event stream reachable again',
          );
        }
        failures = 0;
      } catch (error) {
        if (failures === 0) {
          this.#logger.warn({ err: error, queued: this.#queue.length }, 'cannot write events; they wait');
        }
        await new Promise((resolve) =>
          setTimeout(resolve, RETRY_MS[Math.min(failures, RETRY_MS.length - 1)]),
        );
        failures++;
      }
    }
  }
}
