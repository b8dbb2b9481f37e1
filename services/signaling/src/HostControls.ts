/**
 * What a room's hosts may do to the others, enforced here (never only by the UI) and seen by
 * everyone: mute a microphone or camera (the producer is paused on the media node), let them
 * unmute again, remove them (socket closed, token banned), admit or deny lobby waiters, change the
 * room's policy, promote to host, end the meeting. Targets may be connected to any signaling
 * instance: state lives in Redis and Postgres, notices travel through the socket.io adapter.
 */
import { recordRemoval, type Identity, type RemovalStore } from '@switchboard/auth';
import type { RoomStore } from '@switchboard/db';
import { AppError, NotFoundError, PermissionDeniedError } from '@switchboard/errors';
import type { EventSink } from '@switchboard/events';
import type { Logger } from '@switchboard/logger';
import { MEDIA_KIND_NAMES, type MediaKind, type ProducerInfo, type RoomPolicy } from '@switchboard/protocol';
import type { CallMeta } from './MediaClient';
import { hostsRoom, joinedPeer, peerRoom, type PeerSocket, type SignalingIo } from './peer';
import {
  changePolicy,
  letIn,
  type RoomAccess,
  type RoomPolicyDeps,
  type StoredParticipant,
} from '@switchboard/rooms';
import type { LocalSockets } from './LocalSockets';
import type { Presence } from './Presence';
import type { Producers } from './Producers';

export interface HostControlsOptions {
  io: SignalingIo;
  presence: Presence;
  access: RoomAccess;
  rooms: RoomStore;
  /** Where removals are recorded (Redis). */
  removals: RemovalStore;
  /** Every pause of a producer (on each node that has it, recorded, shown). */
  producers: Producers;
  /** Closes peers' sockets (after a notice) wherever they are connected. */
  sockets: LocalSockets;
  /** Where admissions and removals are recorded (the event stream). */
  events: EventSink;
}

export class HostControls {
  readonly #o: HostControlsOptions;

  constructor(options: HostControlsOptions) {
    this.#o = options;
  }

  /** The sender must be in the room and a host there now (roles change: presence has the truth). */
  async requireHost(socket: PeerSocket): Promise<void> {
    const peer = joinedPeer(socket);
    const stored = await this.#o.presence.peer(peer.roomId, peer.peerId);
    if (stored?.role !== 'host') {
      throw new PermissionDeniedError('only a host of this meeting can do that');
    }
  }

  async #target(roomId: string, peerId: string): Promise<StoredParticipant> {
    const target = await this.#o.presence.peer(roomId, peerId);
    if (!target) {
      throw new NotFoundError(`participant ${peerId} is not in this meeting`);
    }
    return target;
  }

  async mute(
    socket: PeerSocket,
    p: { peerId: string; kind: MediaKind; disableUnmute?: boolean },
    meta: CallMeta,
    logger: Logger,
  ): Promise<void> {
    await this.requireHost(socket);
    const producers = await this.muteParticipant(socket.data.peer.roomId, p, meta);
    logger.info(
      { target: p.peerId, kind: p.kind, disableUnmute: !!p.disableUnmute, producers },
      'host muted a participant',
    );
  }

  /**
   * Pauses a participant's `kind` on every node, as a host's mute does (whoever asks: a host's
   * socket, or the server API); answers how many producers were paused.
   */
  async muteParticipant(
    roomId: string,
    p: { peerId: string; kind: MediaKind; disableUnmute?: boolean },
    meta: CallMeta,
  ): Promise<number> {
    const target = await this.#target(roomId, p.peerId);
    const all = await this.#o.presence.producers(roomId);
    return this.#muteOne(roomId, target, all, p.kind, !!p.disableUnmute, meta);
  }

  /** Mutes everyone in the room but the host asking (each as `mute` does); answers how many. */
  async muteAll(
    socket: PeerSocket,
    p: { kind: MediaKind; disableUnmute?: boolean },
    meta: CallMeta,
    logger: Logger,
  ): Promise<{ muted: number }> {
    await this.requireHost(socket);
    const { roomId, peerId } = socket.data.peer;
    const [stored, all] = await Promise.all([
      this.#o.presence.stored(roomId),
      this.#o.presence.producers(roomId),
    ]);
    const others = stored.filter((peer) => peer.peerId !== peerId);
    const outcomes = await Promise.allSettled(
      others.map((target) => this.#muteOne(roomId, target, all, p.kind, !!p.disableUnmute, meta)),
    );
    const failed = outcomes.filter((o) => o.status === 'rejected');
    if (failed.length > 0) {
      logger.warn(
        { failed: failed.length, err: (failed[0] as PromiseRejectedResult).reason },
        'mute all: some failed',
      );
    }
    logger.info(
      { kind: p.kind, disableUnmute: !!p.disableUnmute, participants: others.length },
      'host muted everyone',
    );
    return { muted: others.length - failed.length };
  }

  /**
   * Pauses the target's producers of `kind` (among the room's producers, `all`) on every node,
   * says so to the room and to it.
   */
  async #muteOne(
    roomId: string,
    target: StoredParticipant,
    all: ProducerInfo[],
    kind: MediaKind,
    disableUnmute: boolean,
    meta: CallMeta,
  ): Promise<number> {
    if (disableUnmute) {
      await this.#o.access.lockMute(roomId, target, kind);
    }
    const producers = all.filter((producer) => producer.peerId === target.peerId && producer.kind === kind);
    for (const { producerId } of producers) {
      await this.#o.producers.setPaused({ roomId, producerId, peerId: target.peerId }, true, meta);
    }
    this.#o.io.to(peerRoom(target.peerId)).emit('mutedByHost', { kind, canUnmute: !disableUnmute });
    return producers.length;
  }

  /** Asks a participant to unmute: lifts a host's lock, and the participant decides. */
  async askToUnmute(
    socket: PeerSocket,
    p: { peerId: string; kind: MediaKind },
    logger: Logger,
  ): Promise<void> {
    await this.requireHost(socket);
    const { roomId } = socket.data.peer;
    await this.#o.access.unlockMute(roomId, await this.#target(roomId, p.peerId), p.kind);
    this.#o.io.to(peerRoom(p.peerId)).emit('unmuteRequested', { kind: p.kind });
    logger.info({ target: p.peerId, kind: p.kind }, 'host asked a participant to unmute');
  }

  async allowUnmute(socket: PeerSocket, p: { peerId: string; kind: MediaKind }): Promise<void> {
    await this.requireHost(socket);
    const { roomId } = socket.data.peer;
    await this.#o.access.unlockMute(roomId, await this.#target(roomId, p.peerId), p.kind);
    this.#o.io.to(peerRoom(p.peerId)).emit('unmuteAllowed', { kind: p.kind });
  }

  /**
   * Whether this peer may not turn `kind` on by itself: a host muted it without allowing unmute,
   * or self-unmute is switched off for the room and the peer (as the room has its role now) is
   * no host and was not asked or allowed to since.
   */
  async unmuteHeld(peer: Identity & { roomId: string; peerId: string }, kind: MediaKind): Promise<boolean> {
    const hold = await this.#o.access.unmuteHold(peer.roomId, peer, kind);
    if (hold !== 'switch') {
      return hold === 'locked';
    }
    // Only with the switch off (rare) does the role matter: read it where it is kept.
    const stored = await this.#o.presence.peer(peer.roomId, peer.peerId);
    return stored?.role !== 'host';
  }

  /** Refuses to resume a producer the peer may not turn on by itself (see `unmuteHeld`). */
  async checkUnmute(peer: Identity & { roomId: string; peerId: string }, kind: MediaKind): Promise<void> {
    if (await this.unmuteHeld(peer, kind)) {
      throw new PermissionDeniedError(
        `a host muted your ${MEDIA_KIND_NAMES[kind]}; ask a host to let you turn it back on`,
      );
    }
  }

  async remove(socket: PeerSocket, p: { peerId: string }, logger: Logger): Promise<void> {
    await this.requireHost(socket);
    const { roomId, peerId } = socket.data.peer;
    if (p.peerId === peerId) {
      throw new AppError('FAILED_PRECONDITION', 'to leave, use leave (hosts cannot remove themselves)');
    }
    await this.removeParticipant(roomId, p.peerId, socket.data.peer.sub);
    logger.info({ target: p.peerId }, 'host removed a participant');
  }

  /**
   * Removes a participant (a host's socket or the server API, `by` says who): kept out from now
   * on (token, identity and address), recorded, told and disconnected wherever connected.
   */
  async removeParticipant(roomId: string, peerId: string, by: string): Promise<void> {
    const target = await this.#target(roomId, peerId);
    await recordRemoval(this.#o.removals, roomId, {
      sub: target.sub,
      jti: target.jti,
      address: target.address,
    });
    this.#o.events.append({ type: 'participant.removed', roomId, peerId, data: { sub: target.sub, by } });
    this.#o.sockets.closePeerEverywhere(peerId, {
      event: 'removed',
      reason: 'A host removed you from this meeting.',
    });
  }

  async admit(socket: PeerSocket, p: { peerId: string }, logger: Logger): Promise<void> {
    await this.requireHost(socket);
    const { roomId } = socket.data.peer;
    const entry = await this.#o.access.leaveLobby(roomId, p.peerId);
    if (!entry) {
      throw new NotFoundError(`nobody with id ${p.peerId} is waiting in the lobby`);
    }
    await letIn(this.#policyDeps(), roomId, entry, socket.data.peer.sub);
    logger.info({ target: p.peerId }, 'host admitted a participant');
  }

  #policyDeps(): RoomPolicyDeps {
    return { rooms: this.#o.rooms, access: this.#o.access, broadcast: this.#o.io, events: this.#o.events };
  }

  async deny(socket: PeerSocket, p: { peerId: string }, logger: Logger): Promise<void> {
    await this.requireHost(socket);
    const { roomId } = socket.data.peer;
    const entry = await this.#o.access.leaveLobby(roomId, p.peerId);
    if (!entry) {
      throw new NotFoundError(`nobody with id ${p.peerId} is waiting in the lobby`);
    }
    this.#o.io.to(hostsRoom(roomId)).emit('lobbyLeft', { peerId: p.peerId, outcome: 'denied' });
    this.#o.sockets.closePeerEverywhere(p.peerId, {
      event: 'denied',
      reason: 'A host declined your request to join.',
    });
    logger.info({ target: p.peerId }, 'host denied a lobby request');
  }

  async setPolicy(socket: PeerSocket, p: { policy: RoomPolicy }, logger: Logger): Promise<void> {
    await this.requireHost(socket);
    const { roomId } = socket.data.peer;
    const { admitted } = await changePolicy(this.#policyDeps(), roomId, p.policy);
    logger.info({ policy: p.policy, admitted }, 'host changed the room policy');
  }

  async setScreenSharing(socket: PeerSocket, p: { multiple: boolean }, logger: Logger): Promise<void> {
    await this.requireHost(socket);
    const { roomId } = socket.data.peer;
    await this.#o.access.setMultipleScreenShares(roomId, p.multiple);
    this.#o.io.to(roomId).emit('screenSharingChanged', { multiple: p.multiple });
    logger.info({ multiple: p.multiple }, 'host changed screen sharing');
  }

  /**
   * Lets participants turn their microphones on themselves (the default), or not: then only a
   * host's request or permission lets one (`hostAskToUnmute`, `hostAllowUnmute`). Mutes no one.
   */
  async setSelfUnmute(socket: PeerSocket, p: { allowed: boolean }, logger: Logger): Promise<void> {
    await this.requireHost(socket);
    const { roomId } = socket.data.peer;
    await this.#o.access.setSelfUnmute(roomId, p.allowed);
    this.#o.io.to(roomId).emit('selfUnmuteChanged', { allowed: p.allowed });
    logger.info({ allowed: p.allowed }, 'host changed self-unmute');
  }

  async promote(socket: PeerSocket, p: { peerId: string }, logger: Logger): Promise<void> {
    await this.requireHost(socket);
    if (await this.promoteParticipant(socket.data.peer.roomId, p.peerId)) {
      logger.info({ target: p.peerId }, 'host promoted a participant to host');
    }
  }

  /** Makes a participant a host (false: it already was), as a host's promote does. */
  async promoteParticipant(roomId: string, peerId: string): Promise<boolean> {
    const target = await this.#target(roomId, peerId);
    if (target.role === 'host') {
      return false;
    }
    await this.#o.presence.setRole(roomId, peerId, 'host');
    if (target.sub.startsWith('user:')) {
      await this.#o.rooms.addMember(roomId, target.sub.slice(5), 'host');
    }
    this.#o.io.in(peerRoom(peerId)).socketsJoin(hostsRoom(roomId));
    this.#o.io.to(roomId).emit('roleChanged', { peerId, role: 'host' });
    // The new host sees who is waiting.
    for (const entry of await this.#o.access.waiting(roomId)) {
      this.#o.io.to(peerRoom(peerId)).emit('lobbyRequest', {
        peerId: entry.peerId,
        displayName: entry.displayName,
        role: entry.role,
      });
    }
    return true;
  }

  async endMeeting(socket: PeerSocket, logger: Logger): Promise<void> {
    await this.requireHost(socket);
    await this.endRoom(socket.data.peer.roomId, 'A host ended the meeting');
    logger.info('host ended the meeting');
  }

  /** Ends the meeting for everyone in it and in its lobby, each told `why` (a host, the API). */
  async endRoom(roomId: string, why: string): Promise<void> {
    for (const entry of await this.#o.access.waiting(roomId)) {
      await this.#o.access.leaveLobby(roomId, entry.peerId);
      this.#o.sockets.closePeerEverywhere(entry.peerId, { event: 'denied', reason: `${why}.` });
    }
    this.#o.sockets.endRoomEverywhere(roomId, {
      event: 'callEnded',
      reason: `${why} for everyone.`,
      final: true,
    });
  }
}
