/**
 * A Redis client for socket.io's Redis adapter and emitter, which call `publish()` without
 * handling its failure: while Redis is away every broadcast would become an unhandled promise
 * rejection. Through this proxy a failed publish is reported to `onError` and dropped (a broadcast
 * to other instances is lost while Redis is down; what must not be lost, such as chat messages,
 * is recovered from Postgres by the clients). Everything else goes to the client untouched.
 */
export function safePublisher<T extends { publish(...args: never[]): Promise<unknown> }>(
  client: T,
  onError: (error: unknown) => void,
): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'publish') {
        return (...args: Parameters<T['publish']>) =>
          target.publish(...args).catch((error: unknown) => {
            onError(error);
            return 0;
          });
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
