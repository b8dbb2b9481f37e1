import { RateLimitedError } from '@switchboard/errors';
import { ExpiringMap } from './ExpiringMap';

export interface LocalBudgetOptions {
  /** What one key may take per window. */
  points: number;
  windowSeconds: number;
  /** What a refused caller is told. */
  message: string;
}

interface Window {
  used: number;
  resetAt: number;
}

/**
 * A fixed-window budget per key held by this process (a socket's or a peer's: both live on one
 * instance). What rate-limiter-flexible's RateLimiterMemory did for us, without its timer per key
 * and window (an instance holding 10,000 sockets armed 10,000 timers every window) or the promise
 * and result object per request: `take` is synchronous, and windows that ended are dropped by the
 * map's sweep (one pass once it has doubled), or at once by `forget`.
 */
export class LocalBudget {
  readonly #points: number;
  readonly #windowMs: number;
  readonly #message: string;
  readonly #windows = new ExpiringMap<Window>((window) => window.resetAt);

  constructor(options: LocalBudgetOptions) {
    this.#points = options.points;
    this.#windowMs = options.windowSeconds * 1000;
    this.#message = options.message;
  }

  /**
   * Takes one point of `key`'s window; throws RESOURCE_EXHAUSTED (with when to retry) when the
   * window has none left, marked `repeated` after the window's first refusal.
   */
  take(key: string, now = Date.now()): void {
    let window = this.#windows.get(key);
    if (window === undefined) {
      window = { used: 0, resetAt: now + this.#windowMs };
      this.#windows.set(key, window, now);
    } else if (window.resetAt <= now) {
      window.used = 0;
      window.resetAt = now + this.#windowMs;
    }
    window.used += 1;
    if (window.used > this.#points) {
      throw new RateLimitedError(this.#message, (window.resetAt - now) / 1000, {
        repeated: window.used > this.#points + 1,
      });
    }
  }

  /** Drops `key`'s window (its socket closed). */
  forget(key: string): void {
    this.#windows.delete(key);
  }

  /** Keys with a window held (ended ones included until the next sweep). */
  get size(): number {
    return this.#windows.size;
  }
}
