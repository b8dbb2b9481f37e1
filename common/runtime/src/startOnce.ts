/**
 * The work under `key` in `running`, started by `start` when none is there: callers asking at
 * the same time share one attempt. A failed attempt is forgotten (the next caller tries again);
 * a successful one stays until its owner deletes it (when what it made closes, say).
 */
export function startOnce<T>(
  running: Map<string, Promise<T>>,
  key: string,
  start: () => Promise<T>,
): Promise<T> {
  const existing = running.get(key);
  if (existing) {
    return existing;
  }
  const started = start();
  running.set(key, started);
  started.catch(() => {
    if (running.get(key) === started) {
      running.delete(key);
    }
  });
  return started;
}
