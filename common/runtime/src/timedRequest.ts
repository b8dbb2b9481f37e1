import { fromUnknown, RateLimitedError, type AppError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';

export type TimedOutcome<T> =
  { ok: true; value: T; seconds: number } | { ok: false; error: AppError; seconds: number };

/**
 * Runs one request at an edge (a socket event, an RPC): times it and logs one line that names it
 * with its duration — `join ok 12.3 ms`, `join refused 3.1 ms (PERMISSION_DENIED: …)`,
 * `join failed 5.0 ms` (with the error) — and turns anything thrown into an AppError for the caller
 * to answer with. Never throws. `line.fields` go into that line (cheaper than a child logger per
 * request); `line.okLevel` is the level of the `ok` line (`debug` for requests so frequent that a
 * line each would drown the rest: chat sends), refusals and failures are always logged.
 */
export async function timedRequest<T>(
  name: string,
  logger: Logger,
  work: () => Promise<T>,
  line: { fields?: Record<string, unknown>; okLevel?: 'info' | 'debug' } = {},
): Promise<TimedOutcome<T>> {
  const { fields = {}, okLevel = 'info' } = line;
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
  const ms = (seconds: number) => (Math.round(seconds * 1e4) / 10).toFixed(1);
  try {
    const value = await work();
    const seconds = elapsed();
    // Most `ok` lines of frequent requests are below the level: not even built then.
    if (logger.isLevelEnabled(okLevel)) {
      logger[okLevel]({ ...fields, ms: Number(ms(seconds)) }, `${name} ok ${ms(seconds)} ms`);
    }
    return { ok: true, value, seconds };
  } catch (thrown) {
    const error = fromUnknown(thrown);
    const seconds = elapsed();
    if (error.code === 'INTERNAL') {
      logger.error({ ...fields, err: thrown, ms: Number(ms(seconds)) }, `${name} failed ${ms(seconds)} ms`);
    } else {
      // A flood of refusals is logged once per window (its first), the rest at debug.
      const level = error instanceof RateLimitedError && error.repeated ? 'debug' : 'info';
      logger[level](
        { ...fields, code: error.code, reason: error.message, ms: Number(ms(seconds)) },
        `${name} refused ${ms(seconds)} ms (${error.code}: ${error.message})`,
      );
    }
    return { ok: false, error, seconds };
  }
}
