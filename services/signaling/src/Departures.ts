/**
 * How peers leave a room, for every way they can: asking, disconnecting, being removed (their
 * socket closes), or their signaling instance crashing (the sweeper finds them). One removePeer
 * takes a peer out for everyone: presence, the others' screens (producerClosed, peerLeft with
 * why), its session record and the media node.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@switchboard/logger';
import type { LeaveReason } from '@switchboard/protocol';
import { identityRoom } from './Chat';
import type { CallMeta } from './MediaClient';
import type { ParticipantSessions } from './ParticipantSessions';
import { hostsRoom, type PeerSocket, type SignalingIo } from './peer';
import type { Presence } from './Presence';
import type { RoomAccess } from '@switchboard/rooms';
import type { MediaPreparation } from './MediaPreparation';
import type { Producers } from './Producers';
import type { RoomSessions } from './RoomSessions';

export interface DeparturesOptions {
  io: SignalingIo;
  presence: Presence;
  access: RoomAccess;
  participants: ParticipantSessions;
  rooms: RoomSessions;
  producers: Producers;
  /** What was prepared for a peer that goes before joining. */
  preparation: MediaPreparation;
  logger: Logger;
}

export class Departures {
  readonly #o: DeparturesOptions;

  constructor(options: DeparturesOptions) {
    this.#o = options;
  }

  /** Removes the peer everywhere (media node, presence, Postgres); closes the room when it empties. */
  async leave(socket: PeerSocket, reason: string, correlationId: string): Promise<void> {
    const peer = socket.data.peer;
    const meta = { correlationId, peerId: peer.peerId };
    const logger = this.#o.logger.child({ roomId: peer.roomId, peerId: peer.peerId, correlationId });
    const sessionPromise = this.#o.rooms.current(peer.roomId);
    const session = sessionPromise ? await sessionPromise.catch(() => undefined) : undefined;
    if (!peer.joined) {
      await this.#o.preparation.release(peer, { ...meta, logger });
      if (peer.inLobby) {
        peer.inLobby = false;
        if (await this.#o.access.leaveLobby(peer.roomId, peer.peerId)) {
          this.#o.io.to(hostsRoom(peer.roomId)).emit('lobbyLeft', { peerId: peer.peerId, outcome: 'left' });
        }
      }
      return;
    }
    peer.joined = false;
    const node = peer.media;
    peer.media = undefined;
    session?.peers.delete(peer.peerId);
    void socket.leave(hostsRoom(peer.roomId));
    void socket.leave(identityRoom(peer.roomId, peer.sub));
    peer.transports.clear();
    peer.producers.clear();
    peer.consumers.clear();
    await this.#removePeer(peer.roomId, peer.peerId, leaveReason(reason), meta, logger);
    void socket.leave(peer.roomId);
    if (session) {
      if (node && node !== session.home) {
        await this.#o.rooms.retireIfEmpty(session, node, meta, logger);
      }
      await this.#o.rooms.releaseIfIdle(session, meta, logger);
    }
    logger.info({ reason }, 'peer left');
  }

  /**
   * Takes a peer out of its room for everyone, whether it left, disconnected or its signaling
   * instance crashed: presence, the others' screens (producerClosed, peerLeft), its session record,
   * and the media nodes (its transports close on its own, the copies of its producers on the
   * others).
   */
  async #removePeer(
    roomId: string,
    peerId: string,
    reason: LeaveReason,
    meta: CallMeta,
    logger: Logger,
  ): Promise<void> {
    const { producers } = await this.#o.presence.removePeer(roomId, peerId, reason);
    this.#o.producers.departed(roomId, peerId, producers);
    this.#o.io.to(roomId).emit('peerLeft', { peerId, reason });
    await this.#o.participants
      .left(peerId)
      .catch((error: unknown) => logger.error({ err: error }, 'could not record leaving'));
    await this.#o.rooms
      .onNodes(roomId, (node) => node.call('leaveRoom', { roomId, peerId }, meta))
      .catch((error: unknown) => logger.warn({ err: error }, 'media node LeaveRoom failed'));
  }

  /**
   * A peer of a signaling instance that died without saying goodbye: take it out of the room for
   * everyone (presence, the others' screens, the media node, the session record).
   */
  async removeGhost(roomId: string, peerId: string): Promise<void> {
    const correlationId = randomUUID();
    const logger = this.#o.logger.child({ roomId, peerId, correlationId });
    await this.#removePeer(roomId, peerId, 'disconnected', { correlationId, peerId }, logger);
    logger.warn('removed a peer whose signaling instance stopped without cleaning up');
  }

  /** Nobody alive is in the room or has it open any more: close it on its media node. */
  async closeAbandonedRoom(roomId: string): Promise<void> {
    const correlationId = randomUUID();
    await this.#o.rooms.closeRoom(roomId, { correlationId }, this.#o.logger.child({ roomId }));
    this.#o.logger.info({ roomId, correlationId }, 'closed a room only crashed instances had open');
  }
}

/**
 * What the others are told about a departure: `left` when the peer meant it (it asked, its page
 * disconnected on purpose, or a host removed it), `disconnected` when the connection dropped or
 * this instance is shutting down (it will be back: show it as reconnecting).
 */
function leaveReason(reason: string): LeaveReason {
  return [
    'requested',
    'client namespace disconnect',
    'io server disconnect',
    'server namespace disconnect',
  ].includes(reason)
    ? 'left'
    : 'disconnected';
}
