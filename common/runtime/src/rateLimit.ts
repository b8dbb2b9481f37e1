import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';

/**
 * Takes one point from `key`'s budget; over budget, throws RESOURCE_EXHAUSTED saying `message` and
 * when to retry. When the limiter's store fails (Redis down) the request is served and a warning
 * logged: refusing everyone would be worse, and health checks report Redis.
 */
export async function takePoint(
  limiter: RateLimiterAbstract,
  key: string,
  message: string,
  logger: Logger,
): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      throw new RateLimitedError(message, rejection.msBeforeNext / 1000);
    }
    logger.warn({ err: rejection }, 'rate limiter unavailable; request served');
  }
}
