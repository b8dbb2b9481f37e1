/**
 * Limits on sockets. How many one client address may hold open on this instance (counted from
 * the handshake, before anything is awaited, so a burst of connections cannot all pass). Rate
 * limits on their events: each socket has its own budget (in memory: a socket lives on one
 * instance), and each client (an account, or an address for guests) a larger one shared by all its
 * sockets on every instance (Redis, spent in leases). A socket over its own budget is refused
 * before the client's budget is touched, so one flooding tab cannot starve the same user's (or
 * the same office's) other sockets.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '@switchboard/logger';
import { AppError } from '@switchboard/errors';
import { LocalBudget } from '@switchboard/runtime';
import { SharedBudget } from './SharedBudget';

export interface SocketLimitOptions {
  /** Events one socket may send per window. */
  perSocket: number;
  /** Events one client may send per window, over all its sockets. */
  perClient: number;
  windowSeconds: number;
  /** Sockets one client address may hold open on this instance. */
  socketsPerAddress: number;
}

export class SocketLimits {
  readonly #socket: LocalBudget;
  readonly #client: SharedBudget;
  readonly #socketsPerAddress: number;
  /** Open sockets (and handshakes under way) by client address. */
  readonly #open = new Map<string, number>();

  constructor(redis: Redis, options: SocketLimitOptions, logger: Logger) {
    this.#socketsPerAddress = options.socketsPerAddress;
    this.#socket = new LocalBudget({
      points: options.perSocket,
      windowSeconds: options.windowSeconds,
      message: 'this connection sends too many requests; slow down',
    });
    this.#client = new SharedBudget(
      redis,
      {
        prefix: 'sb:rl:socket-client',
        points: options.perClient,
        windowSeconds: options.windowSeconds,
        message: 'you send too many requests; slow down',
      },
      logger,
    );
  }

  /** Counts one event; throws RESOURCE_EXHAUSTED (with when to retry) over either budget. */
  async consume(socketId: string, clientKey: string): Promise<void> {
    this.#socket.take(socketId);
    await this.#client.take(clientKey);
  }

  /**
   * Counts a new socket of `address`; RESOURCE_EXHAUSTED when the address already holds the most it
   * may. Each successful call is matched by one `closed(address)`.
   */
  opened(address: string): void {
    const open = this.#open.get(address) ?? 0;
    if (open >= this.#socketsPerAddress) {
      throw new AppError(
        'RESOURCE_EXHAUSTED',
        `too many connections from your address (at most ${this.#socketsPerAddress}); close some tabs`,
        { retryAfterSeconds: 10 },
      );
    }
    this.#open.set(address, open + 1);
  }

  closed(address: string): void {
    const open = (this.#open.get(address) ?? 1) - 1;
    if (open > 0) {
      this.#open.set(address, open);
    } else {
      this.#open.delete(address);
    }
  }

  /** Forgets a closed socket's budget. */
  forget(socketId: string): void {
    this.#socket.forget(socketId);
  }
}
