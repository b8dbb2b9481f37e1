/**
 * Runs tasks one after another per key, in the order they were given: two requests about the
 * same thing (a tile's view of its consumer) take effect in the order the client sent them, even
 * when the first talks to the media node longer. Keys with nothing queued take no memory.
 */
export class KeyedSerial {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `task` once every earlier task of `key` has settled; its outcome is the task's own. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => {});
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) {
        this.#tails.delete(key);
      }
    });
    return result;
  }

  /** Keys with a task queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}
