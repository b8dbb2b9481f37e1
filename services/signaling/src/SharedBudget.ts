import type { Redis } from 'ioredis';
import { RateLimitedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { ExpiringMap } from '@switchboard/runtime';

export interface SharedBudgetOptions {
  /** Redis keys are `<prefix>:<key>`. */
  prefix: string;
  /** What one key may take per window, over every instance. */
  points: number;
  windowSeconds: number;
  /** What a refused caller is told. */
  message: string;
}

/** What this instance holds of one key's budget. */
interface Lease {
  /** Points taken from Redis and not spent yet. */
  left: number;
  /** When the key's window ends (ms since the epoch): the lease is spent or lost then. */
  until: number;
  /** Redis had nothing left for the key this window. */
  refused: boolean;
  /** Refusals told so far in this window (the first is logged, the rest are a flood). */
  refusals: number;
}

/** A lease is at most this share of a window's budget. */
const LEASE_SHARE = 60;
/** While Redis fails, what is served without it (fail open) is re-checked this often. */
const FAIL_OPEN_MS = 1000;
/** How often a failing Redis is logged. */
const UNAVAILABLE_LOG_EVERY_MS = 10_000;
/**
 * Takes points from each key: a point if the key has `points` left in its window (fixed, starting
 * with its first point), else nothing. KEYS: the keys; ARGV: the window (ms), the points of a
 * window, the most points one call takes per key. Returns per key the points taken and the ms
 * left in its window.
 */
const TAKE = `
local window, points, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  local take = math.min(lease, points - used)
  if take > 0 then
    redis.call('INCRBY', key, take)
  else
    take = 0
  end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, window)
    ttl = window
  end
  out[2 * i - 1] = take
  out[2 * i] = ttl
end
return out
`;

/**
 * A budget per key shared by every signaling instance (a client's events, over all its sockets):
 * `points` per window, counted in Redis. Counting each event with its own Redis command cost more
 * CPU than relaying a chat message, so Redis stays off most requests' path:
 * - leases: an instance takes up to 1/60 of a window's budget at once and spends it locally until
 *   the window ends;
 * - batches: every key that needs points within one turn of the event loop goes to Redis in one
 *   script call, and requests for a key already being asked for wait for that answer.
 * Across instances a key never gets more than `points` a window. A lease's unspent points are lost
 * when its window ends, so a client whose sockets are spread over n instances may be refused up to
 * n × (lease − 1) points before the budget's end. Once refused, the key is refused locally until
 * its window ends, so a flood costs Redis nothing. When Redis fails, requests are served (as
 * takePoint does: refusing everyone would be worse, and health checks report Redis) for a second
 * at a time, and a warning is logged every 10 s.
 */
export class SharedBudget {
  readonly #redis: Redis;
  readonly #o: SharedBudgetOptions;
  readonly #windowMs: number;
  readonly #lease: number;
  readonly #logger: Logger;
  readonly #leases = new ExpiringMap<Lease>((lease) => lease.until);
  /** Keys waiting for the next batch, each with its waiters' wake-up. */
  #next: Map<string, () => void> | undefined;
  /** Keys in the next batch or in one under way: later requests wait for its answer. */
  readonly #asked = new Map<string, Promise<void>>();
  #unavailableLogged = 0;

  constructor(redis: Redis, options: SharedBudgetOptions, logger: Logger) {
    this.#redis = redis;
    this.#o = options;
    this.#windowMs = options.windowSeconds * 1000;
    this.#lease = Math.max(1, Math.floor(options.points / LEASE_SHARE));
    this.#logger = logger;
  }

  /**
   * Takes one point of `key`'s budget; throws RESOURCE_EXHAUSTED (with when to retry) once the
   * window's budget is spent, marked `repeated` after this instance's first refusal of the window.
   */
  async take(key: string): Promise<void> {
    for (;;) {
      const lease = this.#leases.get(key);
      const now = Date.now();
      if (lease !== undefined && lease.until > now) {
        if (lease.left > 0) {
          lease.left -= 1;
          return;
        }
        if (lease.refused) {
          throw new RateLimitedError(this.#o.message, (lease.until - now) / 1000, {
            repeated: lease.refusals++ > 0,
          });
        }
      }
      await this.#ask(key);
    }
  }

  /** Leases held (ended ones included until the next sweep). */
  get size(): number {
    return this.#leases.size;
  }

  #ask(key: string): Promise<void> {
    let asked = this.#asked.get(key);
    if (asked === undefined) {
      let next = this.#next;
      if (next === undefined) {
        const batch = new Map<string, () => void>();
        next = this.#next = batch;
        setImmediate(() => void this.#flush(batch));
      }
      const batch = next;
      asked = new Promise<void>((resolve) => batch.set(key, resolve));
      this.#asked.set(key, asked);
    }
    return asked;
  }

  async #flush(batch: Map<string, () => void>): Promise<void> {
    this.#next = undefined;
    const keys = [...batch.keys()];
    let answer: number[] | undefined;
    try {
      answer = (await this.#redis.eval(
        TAKE,
        keys.length,
        ...keys.map((key) => `${this.#o.prefix}:${key}`),
        this.#windowMs,
        this.#o.points,
        this.#lease,
      )) as number[];
    } catch (error) {
      this.#failedOpen(error);
    }
    const now = Date.now();
    keys.forEach((key, i) => {
      const taken = answer === undefined ? this.#lease : answer[2 * i]!;
      const until = now + (answer === undefined ? FAIL_OPEN_MS : answer[2 * i + 1]!);
      const lease = this.#leases.get(key);
      if (lease === undefined || lease.until <= now) {
        this.#leases.set(key, { left: taken, until, refused: taken === 0, refusals: 0 }, now);
      } else {
        // Points left over from the window's lease (none, or we would not have asked) add up.
        lease.left += taken;
        lease.until = until;
        lease.refused = taken === 0;
      }
      this.#asked.delete(key);
      batch.get(key)!();
    });
  }

  #failedOpen(error: unknown): void {
    const now = Date.now();
    if (now - this.#unavailableLogged >= UNAVAILABLE_LOG_EVERY_MS) {
      this.#unavailableLogged = now;
      this.#logger.warn({ err: error, prefix: this.#o.prefix }, 'rate limiter unavailable; requests served');
    }
  }
}
