import { fromUnknown, type AppError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';

export type TimedOutcome<T> =
  { ok: true; value: T; seconds: number } | { ok: false; error: AppError; seconds: number };

/**
 * Runs one request at an edge (a socket event, an RPC): times it and logs one line that names it
 * with its duration — `join ok 12.3 ms`, `join refused 3.1 ms (PERMISSION_DENIED: …)`,
 * `join failed 5.0 ms` (with the error) — and turns anything thrown into an AppError for the caller
 * to answer with. Never throws.
 */
export async function timedRequest<T>(
  name: string,
  logger: Logger,
  work: () => Promise<T>,
): Promise<TimedOutcome<T>> {
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
  const ms = (seconds: number) => (Math.round(seconds * 1e4) / 10).toFixed(1);
  try {
    const value = await work();
    const seconds = elapsed();
    logger.info({ ms: Number(ms(seconds)) }, `${name} ok ${ms(seconds)} ms`);
    return { ok: true, value, seconds };
  } catch (thrown) {
    const error = fromUnknown(thrown);
    const seconds = elapsed();
    if (error.code === 'INTERNAL') {
      logger.error({ err: thrown, ms: Number(ms(seconds)) }, `${name} failed ${ms(seconds)} ms`);
    } else {
      logger.info(
        { code: error.code, reason: error.message, ms: Number(ms(seconds)) },
        `${name} refused ${ms(seconds)} ms (${error.code}: ${error.message})`,
      );
    }
    return { ok: false, error, seconds };
  }
}
