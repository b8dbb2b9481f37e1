/**
 * Presence heartbeat and the crashed-instance sweep. Every `heartbeatMs` this instance marks
 * itself alive (for 3 beats) and, when it wins the turn, looks for what instances that stopped
 * beating left behind: their peers (ghosts, removed for everyone by `onGhost`) and rooms nobody
 * alive has open any more (closed on their media node by `onAbandoned`).
 */
import type { Logger } from '@switchboard/logger';
import type { Presence } from './Presence';

export interface SweeperOptions {
  presence: Presence;
  /** This process's presence id (per boot). */
  instanceId: string;
  heartbeatMs: number;
  logger: Logger;
  onGhost: (roomId: string, peerId: string) => Promise<void>;
  onAbandoned: (roomId: string) => Promise<void>;
}

export class Sweeper {
  readonly #o: SweeperOptions;
  #timer?: NodeJS.Timeout;

  private constructor(options: SweeperOptions) {
    this.#o = options;
  }

  /** Beats once (so this instance counts as alive before it serves anyone), then keeps beating. */
  static async start(options: SweeperOptions): Promise<Sweeper> {
    const sweeper = new Sweeper(options);
    await sweeper.#beat();
    sweeper.#timer = setInterval(() => void sweeper.#beat(), options.heartbeatMs);
    return sweeper;
  }

  async #beat(): Promise<void> {
    const { presence, instanceId, heartbeatMs } = this.#o;
    try {
      await presence.heartbeat(instanceId, heartbeatMs * 3);
      if (await presence.takeSweeperTurn(instanceId, heartbeatMs)) {
        for (const room of await presence.sweep()) {
          for (const peerId of room.ghosts) {
            await this.#o.onGhost(room.roomId, peerId);
          }
          if (room.abandoned) {
            await this.#o.onAbandoned(room.roomId);
          }
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
