/**
 * Presence heartbeat and the crashed-instance sweep. Every `heartbeatMs` this instance marks
 * itself alive (for 3 beats) and, when it wins the turn, looks for what instances that stopped
 * beating left behind: their peers (ghosts, removed for everyone by `onGhost`), rooms nobody
 * alive has open any more (closed on their media node by `onAbandoned`) and lobby waiters (taken
 * out with those whose wait ran out, for `onWaiterSwept`). Going through every room is done when
 * an instance has stopped beating, on this instance's first turn, and once a minute (to forget
 * rooms left empty), not every beat: with 2,000 rooms it took a few percent of a core and
 * allocated a tenth of what signaling promoted to the old generation under chat load. When its
 * own mark is gone (Redis restarted without its data), it has this instance write its rooms and
 * peers again.
 */
import type { Logger } from '@switchboard/logger';
import type { Presence } from './Presence';
import type { RoomAccess, SweptWaiter } from '@switchboard/rooms';

export interface SweeperOptions {
  presence: Presence;
  /** This process's presence id (per boot). */
  instanceId: string;
  heartbeatMs: number;
  logger: Logger;
  onGhost: (roomId: string, peerId: string) => Promise<void>;
  onAbandoned: (roomId: string) => Promise<void>;
  lobbies: RoomAccess;
  /** A waiter left the lobby by the sweep: hosts are told; an expired one's socket is closed. */
  onWaiterSwept: (waiter: SweptWaiter) => void;
  /** Redis lost this instance's mark (and most likely its peers): write them again. */
  onForgotten: () => Promise<void>;
}

/** How often every room is looked at when no instance has stopped beating. */
const FULL_SWEEP_EVERY_MS = 60_000;

export class Sweeper {
  readonly #o: SweeperOptions;
  #timer?: NodeJS.Timeout;
  #forgotten = false;
  /** When every room is next looked at although no instance stopped beating. */
  #fullSweepAt = 0;

  private constructor(options: SweeperOptions) {
    this.#o = options;
  }

  /** Beats once (so this instance counts as alive before it serves anyone), then keeps beating. */
  static async start(options: SweeperOptions): Promise<Sweeper> {
    const sweeper = new Sweeper(options);
    await sweeper.#beat(true);
    sweeper.#timer = setInterval(() => void sweeper.#beat(), options.heartbeatMs);
    return sweeper;
  }

  async #beat(first = false): Promise<void> {
    const { presence, instanceId, heartbeatMs } = this.#o;
    try {
      const remembered = await presence.heartbeat(instanceId, heartbeatMs * 3);
      // Until re-registering succeeds, every beat tries again.
      this.#forgotten ||= !remembered && !first;
      if (this.#forgotten) {
        this.#o.logger.warn('Redis forgot this instance (restarted empty?): registering its peers again');
        await this.#o.onForgotten();
        this.#forgotten = false;
      }
      if (await presence.takeSweeperTurn(instanceId, heartbeatMs)) {
        const dead = await presence.deadInstances();
        const now = Date.now();
        if (dead.length > 0 || now >= this.#fullSweepAt) {
          this.#fullSweepAt = now + FULL_SWEEP_EVERY_MS;
          for (const room of await presence.sweep()) {
            for (const peerId of room.ghosts) {
              await this.#o.onGhost(room.roomId, peerId);
            }
            if (room.abandoned) {
              await this.#o.onAbandoned(room.roomId);
            }
          }
          // Only once all they left is gone: a failure above leaves them for the next beat.
          await presence.forgetDead(dead);
        }
        for (const waiter of await this.#o.lobbies.sweepLobbies((ids) => presence.alive(ids))) {
          this.#o.onWaiterSwept(waiter);
        }
      }
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'presence heartbeat failed');
    }
  }

  /** Stops beating and forgets this instance (its peers have left by then). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#o.presence.forgetInstance(this.#o.instanceId).catch(() => {});
  }
}
