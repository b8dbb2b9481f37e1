/**
 * Every pause, resume and close of a producer goes through here, whoever asks: its owner, a host,
 * the media node that closed it, a departure. In one order: the media nodes that carry it (its own
 * node and the nodes it is piped to), its owner's state on this instance, its record in presence,
 * then the room's screens.
 */
import type { Logger } from '@switchboard/logger';
import type { ProducerInfo } from '@switchboard/protocol';
import type { CallMeta, MediaClient } from './MediaClient';
import type { PeerSocket, PeerState, SignalingIo } from './peer';
import type { Presence } from './Presence';
import type { RoomSessions } from './RoomSessions';

export interface ProducersOptions {
  io: SignalingIo;
  presence: Presence;
  rooms: RoomSessions;
  logger: Logger;
}

/** Who changed a producer: its owner's socket (told by its own request, so not told again) or not. */
export interface ProducerChange {
  roomId: string;
  producerId: string;
  peerId: string;
  /** The owner's socket when the owner asked: the room but the owner is told. */
  by?: PeerSocket;
}

export class Producers {
  readonly #o: ProducersOptions;

  constructor(options: ProducersOptions) {
    this.#o = options;
  }

  /** Keeps a producer its owner just created on its node (the `keep` of `createWithinLimit`). */
  keep(peer: PeerState, info: ProducerInfo): void {
    peer.producers.set(info.producerId, info);
  }

  /** Records a kept producer in presence and tells the room but its owner. */
  async announce(socket: PeerSocket, info: ProducerInfo): Promise<void> {
    const peer = socket.data.peer;
    await this.#o.presence.addProducer(peer.roomId, info);
    socket.to(peer.roomId).emit('newProducer', info);
  }

  /**
   * Pauses or resumes a producer on every node that has it: `own` (its owner's node) first when
   * given, whose failure is the caller's; then its piped copies. Then recorded and shown.
   */
  async setPaused(change: ProducerChange, paused: boolean, meta: CallMeta, own?: MediaClient): Promise<void> {
    const { roomId, producerId, peerId } = change;
    const method = paused ? 'pauseProducer' : 'resumeProducer';
    const call = (node: MediaClient) => node.call(method, { roomId, producerId }, meta);
    if (own) {
      await call(own);
    }
    // Its piped copies follow (their consumers show it paused).
    await this.#o.rooms.onNodes(roomId, call, own);
    await this.#o.presence.setProducerPaused(roomId, { producerId, peerId, paused, byHost: !change.by });
    this.#room(change).emit('producerPaused', { producerId, peerId, paused });
  }

  /** Closed by its owner: on its own node, then its copies; forgotten; the room told. */
  async close(socket: PeerSocket, producerId: string, meta: CallMeta, logger: Logger): Promise<void> {
    const peer = socket.data.peer;
    const own = peer.media;
    if (own) {
      await own.call('closeProducer', { roomId: peer.roomId, producerId }, meta);
    }
    await this.#closeCopies(peer.roomId, producerId, meta, logger, own);
    await this.#forget(peer, producerId);
    this.#room({ roomId: peer.roomId, producerId, peerId: peer.peerId, by: socket }).emit('producerClosed', {
      producerId,
      peerId: peer.peerId,
    });
  }

  /**
   * Its own node closed it (its transport went, its owner's node left the room): its copies on
   * the room's other nodes go (every instance watching may do it; closing twice is harmless), and
   * the instance holding its owner (`socket`) forgets it and tells the room at once (the media is
   * gone already: the room's screens do not wait for the copies or for presence).
   */
  async closedByNode(
    roomId: string,
    producerId: string,
    node: MediaClient,
    socket: PeerSocket | undefined,
    meta: CallMeta,
    logger: Logger,
  ): Promise<void> {
    const peer = socket?.data.peer;
    let forgotten: Promise<void> | undefined;
    if (peer?.producers.has(producerId)) {
      forgotten = this.#forget(peer, producerId).catch((error: unknown) =>
        logger.warn({ err: error, producerId }, 'could not remove the producer from presence'),
      );
      this.#o.io.to(roomId).emit('producerClosed', { producerId, peerId: peer.peerId });
    }
    await Promise.all([this.#closeCopies(roomId, producerId, meta, logger, node), forgotten]);
  }

  /**
   * The media node says a host (on any instance) paused or resumed it: the owner's instance
   * keeps it for re-registration.
   */
  pausedByNode(socket: PeerSocket, producerId: string, paused: boolean): void {
    const info = socket.data.peer.producers.get(producerId);
    if (info) {
      info.paused = paused;
    }
  }

  /**
   * A peer left: presence removed its producers with it (`removed`); the room is told each is
   * gone. The media nodes close them with the peer (LeaveRoom).
   */
  departed(roomId: string, peerId: string, removed: ProducerInfo[]): void {
    for (const { producerId } of removed) {
      this.#o.io.to(roomId).emit('producerClosed', { producerId, peerId });
    }
  }

  async #closeCopies(
    roomId: string,
    producerId: string,
    meta: CallMeta,
    logger: Logger,
    own?: MediaClient,
  ): Promise<void> {
    await this.#o.rooms
      .onNodes(roomId, (node) => node.call('closeProducer', { roomId, producerId }, meta), own)
      .catch((error: unknown) => logger.warn({ err: error, producerId }, 'could not close the piped copies'));
  }

  async #forget(peer: PeerState, producerId: string): Promise<void> {
    peer.producers.delete(producerId);
    await this.#o.presence.removeProducer(peer.roomId, producerId, peer.peerId);
  }

  /** Where a change is shown: the whole room, or the room but the owner who made it. */
  #room(change: ProducerChange) {
    return change.by ? change.by.to(change.roomId) : this.#o.io.to(change.roomId);
  }
}
