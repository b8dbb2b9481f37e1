import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError, UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';

/** How often an unavailable limiter is logged (a flood of requests logs it once per window). */
const UNAVAILABLE_LOG_EVERY_MS = 10_000;
const unavailableLogged = new WeakMap<RateLimiterAbstract, number>();

/**
 * Takes one point from `key`'s budget; over budget, throws RESOURCE_EXHAUSTED saying `message` and
 * when to retry (marked `repeated` after the first refusal of the window, so edges log a flood
 * once). When the limiter's store fails (Redis down), the request is served and a warning logged
 * (once per window): refusing everyone would be worse, and health checks report Redis. Limiters
 * that guard against password guessing pass `failClosed`: then it is refused (UNAVAILABLE).
 */
export async function takePoint(
  limiter: RateLimiterAbstract,
  key: string,
  message: string,
  logger: Logger,
  options: { failClosed?: boolean } = {},
): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      throw new RateLimitedError(message, rejection.msBeforeNext / 1000, {
        repeated: rejection.consumedPoints > limiter.points + 1,
      });
    }
    const now = Date.now();
    if (now - (unavailableLogged.get(limiter) ?? 0) >= UNAVAILABLE_LOG_EVERY_MS) {
      unavailableLogged.set(limiter, now);
      logger.warn(
        { err: rejection },
        options.failClosed
          ? 'rate limiter unavailable; requests refused'
          : 'rate limiter unavailable; requests served',
      );
    }
    if (options.failClosed) {
      throw new UnavailableError(
        'this is unavailable for a moment (its rate limiter cannot be reached); try again shortly',
        {
          cause: rejection,
        },
      );
    }
  }
}
