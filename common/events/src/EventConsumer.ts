/**
 * Reads the event stream as one consumer of a group (XREADGROUP): each entry goes to one consumer
 * of the group, is handed to `handle`, and is acknowledged only once `handle` resolved. A handler
 * that throws leaves the entry pending; the consumer waits and reads its pending entries again,
 * in order, so nothing after it is handled first. On start a consumer first takes back its own
 * pending entries (a restart after a crash resumes where it stopped), and every `claimEveryMs` it
 * claims what another consumer left pending longer than `claimIdleMs` (XAUTOCLAIM: that one died).
 * Delivery is at least once: a handler makes its writes idempotent by the event's id. Entries that
 * are no event (invalid) and events of types this reader does not know are acknowledged and told
 * to `onSkipped`, never retried forever.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '@switchboard/logger';
import { EVENT_STREAM } from './EventLog';
import { readEvent, type SwitchboardEvent } from './schema';

export interface EventConsumerOptions {
  /** A connection to copy (reading blocks, so the consumer reads on its own). */
  redis: Redis;
  logger: Logger;
  /** The consumer group (one per purpose: `analytics`, `webhooks`). */
  group: string;
  /** This consumer's name in the group; the same name after a restart resumes its pending entries. */
  consumer: string;
  handle: (event: SwitchboardEvent, entryId: string) => Promise<void>;
  onSkipped?: (entryId: string, why: string) => void;
  stream?: string;
  /** How long one read waits for new entries. */
  blockMs?: number;
  /** Another consumer's entry pending this long is taken over. */
  claimIdleMs?: number;
  claimEveryMs?: number;
  /** The wait after a handler failed before its entry is tried again. */
  retryMs?: number;
}

type Entry = [id: string, fields: string[] | null];

export class EventConsumer {
  readonly #o: Required<Omit<EventConsumerOptions, 'onSkipped'>> & Pick<EventConsumerOptions, 'onSkipped'>;
  readonly #reader: Redis;
  #closed = false;
  #loop?: Promise<void>;
  #handled = 0;

  private constructor(opts: EventConsumerOptions, reader: Redis) {
    this.#o = {
      stream: EVENT_STREAM,
      blockMs: 2000,
      claimIdleMs: 30_000,
      claimEveryMs: 5000,
      retryMs: 1000,
      ...opts,
    };
    this.#reader = reader;
  }

  /** Joins the group (creating it and the stream when missing, from the stream's start) and starts reading. */
  static async create(opts: EventConsumerOptions): Promise<EventConsumer> {
    const reader = opts.redis.duplicate();
    reader.on('error', () => {}); // the loop reports failures
    const stream = opts.stream ?? EVENT_STREAM;
    try {
      await reader.xgroup('CREATE', stream, opts.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).startsWith('BUSYGROUP')) {
        reader.disconnect();
        throw error;
      }
    }
    const consumer = new EventConsumer(opts, reader);
    consumer.#loop = consumer.#run();
    return consumer;
  }

  /** Events handled and acknowledged by this consumer so far. */
  get handled(): number {
    return this.#handled;
  }

  /** Stops reading (an entry being handled finishes first); idempotent. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#reader.disconnect();
    await this.#loop?.catch(() => {});
  }

  async #run(): Promise<void> {
    const { stream, group, consumer, blockMs, claimEveryMs, claimIdleMs, retryMs, logger } = this.#o;
    let ownPending = true;
    let lastClaim = 0;
    while (!this.#closed) {
      try {
        if (Date.now() - lastClaim >= claimEveryMs) {
          lastClaim = Date.now();
          const [, claimed] = (await this.#reader.xautoclaim(
            stream,
            group,
            consumer,
            claimIdleMs,
            '0-0',
            'COUNT',
            100,
          )) as [string, Entry[]];
          if (claimed.length > 0) {
            logger.info({ claimed: claimed.length }, 'took over events another consumer left pending');
            ownPending = true; // they are ours now: handle them before anything new
          }
        }
        const read = (
          ownPending
            ? await this.#reader.xreadgroup('GROUP', group, consumer, 'COUNT', 100, 'STREAMS', stream, '0')
            : await this.#reader.xreadgroup(
                'GROUP',
                group,
                consumer,
                'COUNT',
                100,
                'BLOCK',
                blockMs,
                'STREAMS',
                stream,
                '>',
              )
        ) as [string, Entry[]][] | null;
        const entries = read?.[0]?.[1] ?? [];
        if (ownPending && entries.length === 0) {
          ownPending = false;
          continue;
        }
        for (const entry of entries) {
          await this.#handle(entry);
        }
      } catch (error) {
        if (this.#closed) {
          return;
        }
        logger.warn({ err: error }, 'event consumer: will retry');
        ownPending = true;
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    }
  }

  /** Handles one entry and acknowledges it; throws (leaving it pending) when the handler fails. */
  async #handle([entryId, fields]: Entry): Promise<void> {
    const json = fields?.[fields.indexOf('event') + 1];
    const read = fields && json !== undefined ? readEvent(json) : undefined;
    if (!read || !read.ok) {
      const why = !read
        ? 'trimmed from the stream'
        : read.why === 'invalid'
          ? read.message
          : `unknown type ${read.raw.type}`;
      this.#o.onSkipped?.(entryId, why);
    } else {
      await this.#o.handle(read.event, entryId);
      this.#handled++;
    }
    await this.#reader.xack(this.#o.stream, this.#o.group, entryId);
  }
}
