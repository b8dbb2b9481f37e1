/**
 * When a call whose connection dropped tries to rejoin, as LiveKit's `ReconnectPolicy`: given how
 * many attempts were made and why the last one failed, the wait before the next one, or `null` to
 * give up. Pure (no timers): the call waits and asks again.
 */
import { AppError, type ErrorCode } from '@switchboard/errors';

export interface ReconnectContext {
  /** Attempts made so far since the connection dropped (0 before the first). */
  attempts: number;
  /** The server said the call's media is gone and to rejoin at once (no wait before the first). */
  rejoinNow: boolean;
  /** Why the last attempt failed. */
  error?: unknown;
}

/** Waits between attempts (ms): quick at first, then every 8 s; about 30 s in all. */
export const DEFAULT_RECONNECT_DELAYS: readonly number[] = [300, 1000, 2000, 4000, 8000, 8000, 8000];

/** Refusals that retrying cannot change: removed, locked out, or the meeting is gone. */
const FINAL_CODES: ReadonlySet<ErrorCode> = new Set(['PERMISSION_DENIED', 'NOT_FOUND', 'CANCELLED']);

export class ReconnectPolicy {
  readonly #delays: readonly number[];

  constructor(delays: readonly number[] = DEFAULT_RECONNECT_DELAYS) {
    this.#delays = delays;
  }

  /** The wait before the next attempt, or null: stop trying (the call has failed). */
  nextDelayMs({ attempts, rejoinNow, error }: ReconnectContext): number | null {
    if (error instanceof AppError && FINAL_CODES.has(error.code)) {
      return null;
    }
    const schedule = rejoinNow ? [0, ...this.#delays] : this.#delays;
    return schedule[attempts] ?? null;
  }
}
