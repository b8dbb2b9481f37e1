/**
 * A TCP proxy that delays every byte by `oneWayMs` in each direction: a network round trip of
 * 2 × oneWayMs in front of a server, for benchmarks on a machine without netem. Chunks keep their
 * order (one timer queue per direction, each chunk due a fixed delay after it arrived) and a close
 * on either side is passed on after the data before it.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface DelayProxy {
  /** `http://127.0.0.1:<port>` of the proxy. */
  url: string;
  /** Changes the delay for data that arrives from now on. */
  setOneWayMs(ms: number): void;
  close(): Promise<void>;
}

/** One direction: `from`'s data written to `to` `delay()` ms after it arrived, in order. */
function pipeDelayed(from: Socket, to: Socket, delay: () => number): void {
  const queue: { due: number; chunk: Buffer | null }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0].due <= now) {
      const { chunk } = queue.shift()!;
      if (chunk === null) {
        to.end();
      } else if (!to.destroyed) {
        to.write(chunk);
      }
    }
    if (queue.length > 0) {
      timer = setTimeout(flush, queue[0].due - now);
    }
  };
  const push = (chunk: Buffer | null) => {
    queue.push({ due: performance.now() + delay(), chunk });
    if (!timer) {
      timer = setTimeout(flush, Math.max(0, queue[0].due - performance.now()));
    }
  };
  from.on('data', (chunk: Buffer) => push(chunk));
  from.on('end', () => push(null));
  from.on('close', () => {
    if (queue.length === 0 && !to.destroyed) {
      to.destroy();
    }
  });
}

/** Starts a proxy on a free loopback port forwarding to `target` (`http://host:port`). */
export async function startDelayProxy(target: string, oneWayMs: number): Promise<DelayProxy> {
  const { hostname, port } = new URL(target);
  let delayMs = oneWayMs;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: hostname, port: Number(port) });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    pipeDelayed(client, upstream, () => delayMs);
    pipeDelayed(upstream, client, () => delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    setOneWayMs: (ms) => {
      delayMs = ms;
    },
    close: async () => {
      for (const socket of sockets) {
        socket.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
