/** Fewer entries than this are never swept: a sweep over a small map is not worth its pass. */
const MIN_SWEEP = 1024;

/**
 * A map whose entries end at a time of their own (a rate window, a lease), without a timer per
 * entry: ended entries stay until a sweep drops them all in one pass, run when an entry is set
 * once the map has doubled since the last sweep (amortised constant work per set). A reader asks
 * `get` and decides for itself whether what it got has ended.
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #endsAt: (value: V) => number;
  #sweepAt = MIN_SWEEP;

  /** `endsAt`: when an entry ends (ms, as the `now` given to `set`). */
  constructor(endsAt: (value: V) => number) {
    this.#endsAt = endsAt;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  /** Sets `key`, first dropping every entry ended by `now` when the map has grown enough. */
  set(key: string, value: V, now: number): void {
    if (this.#entries.size >= this.#sweepAt) {
      for (const [k, v] of this.#entries) {
        if (this.#endsAt(v) <= now) {
          this.#entries.delete(k);
        }
      }
      this.#sweepAt = Math.max(MIN_SWEEP, 2 * this.#entries.size);
    }
    this.#entries.set(key, value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Entries held, ended ones included until the next sweep. */
  get size(): number {
    return this.#entries.size;
  }
}
