/**
 * Rate limits on socket events (rate-limiter-flexible): each socket has its own budget (in memory:
 * a socket lives on one instance), and each client (an account, or an address for guests) a larger
 * one shared by all its sockets on every instance (Redis). A socket over its own budget is refused
 * before the client's budget is touched, so one flooding tab cannot starve the same user's (or
 * the same office's) other sockets.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { Logger } from '@switchboard/logger';
import { takePoint } from '@switchboard/runtime';

export interface SocketLimitOptions {
  /** Events one socket may send per window. */
  perSocket: number;
  /** Events one client may send per window, over all its sockets. */
  perClient: number;
  windowSeconds: number;
}

export class SocketLimits {
  readonly #socket: RateLimiterMemory;
  readonly #client: RateLimiterRedis;
  readonly #logger: Logger;

  constructor(redis: Redis, options: SocketLimitOptions, logger: Logger) {
    this.#socket = new RateLimiterMemory({ points: options.perSocket, duration: options.windowSeconds });
    this.#client = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: 'sb:rl:socket-client',
      points: options.perClient,
      duration: options.windowSeconds,
    });
    this.#logger = logger;
  }

  /** Counts one event; throws RESOURCE_EXHAUSTED (with when to retry) over either budget. */
  async consume(socketId: string, clientKey: string): Promise<void> {
    await takePoint(
      this.#socket,
      socketId,
      'this connection sends too many requests; slow down',
      this.#logger,
    );
    await takePoint(this.#client, clientKey, 'you send too many requests; slow down', this.#logger);
  }

  /** Forgets a closed socket's budget. */
  forget(socketId: string): void {
    void this.#socket.delete(socketId);
  }
}
