/**
 * Reactions: an emoji from the fixed set (REACTIONS) shown over the sender's tile for everyone in
 * the room for a few seconds. Nothing is stored; each participant may send `perTenSeconds` in any
 * 10 s (counted by identity, so reconnecting does not reset the budget), more is refused with when
 * to retry.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from '@switchboard/logger';
import type { Reaction, ResponseMap } from '@switchboard/protocol';
import { takePoint } from '@switchboard/runtime';
import { joinedPeer, type PeerSocket, type SignalingIo } from './peer';

export class Reactions {
  readonly #io: SignalingIo;
  readonly #limiter: RateLimiterMemory;
  readonly #logger: Logger;

  constructor(options: { io: SignalingIo; perTenSeconds: number; logger: Logger }) {
    this.#io = options.io;
    this.#limiter = new RateLimiterMemory({ points: options.perTenSeconds, duration: 10 });
    this.#logger = options.logger;
  }

  async react(socket: PeerSocket, p: { emoji: Reaction }): Promise<ResponseMap['react']> {
    const peer = joinedPeer(socket);
    await takePoint(
      this.#limiter,
      `${peer.roomId}|${peer.sub}`,
      'too many reactions; wait a few seconds',
      this.#logger,
    );
    this.#io.to(peer.roomId).emit('reaction', { peerId: peer.peerId, emoji: p.emoji });
    return {};
  }
}
