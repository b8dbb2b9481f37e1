/**
 * A request asked again when the server was too busy to answer it: its deadline passed
 * (DEADLINE_EXCEEDED) or it could not be sent (UNAVAILABLE). Any other refusal, and the last try's,
 * is the caller's. Used where a lost answer leaves state wrong for good (a consumer never resumed
 * is a tile frozen until someone rejoins).
 */

/** The codes worth another try: the request may never have been seen. */
const BUSY = new Set(['DEADLINE_EXCEEDED', 'UNAVAILABLE']);

export interface AskAgainOptions {
  /** Tries in all (the first included). */
  tries: number;
  /** Wait before try `n + 1` after try `n` failed (n from 1). */
  delayMs: (failedTry: number) => number;
  /** True once the asker is gone (its session closed): no more tries. */
  stopped: () => boolean;
}

export async function askAgainWhenBusy<T>(request: () => Promise<T>, options: AskAgainOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (attempt >= options.tries || typeof code !== 'string' || !BUSY.has(code) || options.stopped()) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, options.delayMs(attempt)));
    }
  }
}
