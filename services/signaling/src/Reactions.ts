/**
 * Reactions: an emoji from the fixed set (REACTIONS) shown over the sender's tile for everyone in
 * the room for a few seconds. Nothing is stored; each participant may send `perTenSeconds` in any
 * 10 s (counted by identity, so reconnecting does not reset the budget), more is refused with when
 * to retry.
 */
import type { Reaction, ResponseMap } from '@switchboard/protocol';
import { LocalBudget } from '@switchboard/runtime';
import { joinedPeer, type PeerSocket, type SignalingIo } from './peer';

export class Reactions {
  readonly #io: SignalingIo;
  readonly #limiter: LocalBudget;

  constructor(options: { io: SignalingIo; perTenSeconds: number }) {
    this.#io = options.io;
    this.#limiter = new LocalBudget({
      points: options.perTenSeconds,
      windowSeconds: 10,
      message: 'too many reactions; wait a few seconds',
    });
  }

  async react(socket: PeerSocket, p: { emoji: Reaction }): Promise<ResponseMap['react']> {
    const peer = joinedPeer(socket);
    this.#limiter.take(`${peer.roomId}|${peer.sub}`);
    this.#io.to(peer.roomId).emit('reaction', { peerId: peer.peerId, emoji: p.emoji });
    return {};
  }
}
