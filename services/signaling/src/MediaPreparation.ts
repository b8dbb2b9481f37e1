/**
 * A peer's receiving transport made before it joins, while its owner looks at the camera preview
 * (`prepare`): the room is opened and the peer placed on a media node as `join` would, the
 * transport is made with SCTP and a data consumer of the room's own data producer, and the
 * browser's set-up of that consumer brings the transport up (ICE, DTLS) before the click. `join`
 * takes it (`take`) when it is still good, or it is closed and `join` makes what it needs as
 * before. A connection that goes before joining gives it back (`release`). This class owns the
 * peer's `prepared` state; nothing else writes it.
 */
import { AppError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import type { PreparedTransport } from '@switchboard/protocol';
import type { CallMeta, MediaClient } from './MediaClient';
import { createWithinLimit, type PeerSocket, type PeerState } from './peer';
import type { RoomSession, RoomSessions } from './RoomSessions';
import { transportInfo } from './transportInfo';

/** What `prepare` made for a peer. */
export interface PreparedMedia {
  session: RoomSession;
  media: MediaClient;
  recv: PreparedTransport;
}

type Context = CallMeta & { logger: Logger };

export class MediaPreparation {
  readonly #rooms: RoomSessions;
  /** By peer: what was made for it, or is being made. */
  readonly #prepared = new WeakMap<PeerState, Promise<PreparedMedia | undefined>>();

  constructor(rooms: RoomSessions) {
    this.#rooms = rooms;
  }

  /**
   * Opens the room (as `join` does for a peer it lets in: the caller checked that it would), places
   * the peer on a node and makes its receiving transport with a data consumer. Once per peer.
   */
  async prepare(socket: PeerSocket, ctx: Context): Promise<PreparedTransport> {
    const peer = socket.data.peer;
    if (peer.joined || this.#prepared.has(peer)) {
      throw new AppError('FAILED_PRECONDITION', peer.joined ? 'already joined' : 'already prepared');
    }
    const making = this.#make(socket, ctx);
    this.#prepared.set(
      peer,
      making.catch(() => undefined),
    );
    return (await making).recv;
  }

  async #make(socket: PeerSocket, ctx: Context): Promise<PreparedMedia> {
    const peer = socket.data.peer;
    const session = await this.#rooms.enter(peer.roomId, peer.peerId, ctx, ctx.logger);
    let media: MediaClient | undefined;
    let transportId: string | undefined;
    try {
      media = await this.#rooms.placePeer(session, ctx);
      const node = media;
      const created = await createWithinLimit(
        peer,
        'transports',
        () =>
          node.call(
            'createWebRtcTransport',
            { roomId: peer.roomId, peerId: peer.peerId, producing: false, sctp: true },
            ctx,
          ),
        (made) => peer.transports.add(made.transportId),
      );
      transportId = created.transportId;
      const data = await node.call('consumeRoomData', { roomId: peer.roomId, transportId }, ctx);
      const { sctpParameters, ...info } = transportInfo(created);
      if (!sctpParameters) {
        throw new AppError('INTERNAL', 'media node returned a transport without SCTP');
      }
      if (socket.disconnected || peer.joined) {
        throw new AppError('FAILED_PRECONDITION', 'the connection went or joined while preparing');
      }
      ctx.logger.info({ transportId, mediaNode: node.instanceId }, 'receiving transport prepared');
      return {
        session,
        media: node,
        recv: {
          ...info,
          sctpParameters,
          dataConsumer: {
            id: data.dataConsumerId,
            dataProducerId: data.dataProducerId,
            streamId: data.streamId,
            label: data.label,
          },
        },
      };
    } catch (error) {
      await this.#close(peer, session, media, transportId, ctx);
      throw error;
    }
  }

  /** The media node the peer's prepared transport is on, when `transportId` is that transport. */
  async nodeOf(peer: PeerState, transportId: string): Promise<MediaClient | undefined> {
    const prepared = await this.#prepared.get(peer);
    return prepared?.recv.id === transportId ? prepared.media : undefined;
  }

  /**
   * For `join`, before it enters the room: what was prepared for the peer (waiting for a `prepare`
   * still running), handed over once. `join` then checks it with `usable`.
   */
  async take(peer: PeerState): Promise<PreparedMedia | undefined> {
    const pending = this.#prepared.get(peer);
    this.#prepared.delete(peer);
    return pending;
  }

  /**
   * What was prepared, when it is on `media` (the node `join` placed the peer on now) and that node
   * is one of `session`'s (the one `join` entered) still watched: the node did not go or stop
   * taking newcomers, the room did not close and reopen. Otherwise it is closed (the peer stays
   * among `session`'s joiners) and `join` makes what it needs as without it.
   */
  async usable(
    peer: PeerState,
    prepared: PreparedMedia | undefined,
    session: RoomSession,
    media: MediaClient,
    ctx: Context,
  ): Promise<PreparedMedia | undefined> {
    if (!prepared) {
      return undefined;
    }
    const node = prepared.media.instanceId;
    if (
      prepared.session === session &&
      !session.closing &&
      session.watches.has(node) &&
      node === media.instanceId
    ) {
      return prepared;
    }
    ctx.logger.info(
      { prepared: node, placed: media.instanceId },
      'the prepared transport is stale: made again with the join',
    );
    await this.discard(peer, prepared, session, ctx);
    return undefined;
  }

  /**
   * Closes what was prepared (stale, or its join failed). The peer leaves the joiners of the
   * session it was prepared in unless that is `current`, the session its join entered (the join
   * lets that one go itself when it fails).
   */
  async discard(peer: PeerState, prepared: PreparedMedia, current: RoomSession, ctx: Context): Promise<void> {
    await this.#close(peer, prepared.session, prepared.media, prepared.recv.id, ctx, current);
  }

  /** The connection goes before joining: closes what was prepared and lets the room go. */
  async release(peer: PeerState, ctx: Context): Promise<void> {
    const pending = this.#prepared.get(peer);
    if (!pending) {
      return;
    }
    this.#prepared.delete(peer);
    const prepared = await pending;
    if (prepared) {
      await this.#close(peer, prepared.session, prepared.media, prepared.recv.id, ctx);
    }
  }

  /**
   * Closes the prepared transport (when made) and takes the peer out of `session`'s joiners, unless
   * it is `keep` (the session its join is entering now).
   */
  async #close(
    peer: PeerState,
    session: RoomSession,
    media: MediaClient | undefined,
    transportId: string | undefined,
    ctx: Context,
    keep?: RoomSession,
  ): Promise<void> {
    if (media && transportId) {
      peer.transports.delete(transportId);
      await media
        .call('closeWebRtcTransport', { roomId: peer.roomId, transportId }, ctx)
        .catch((error: unknown) => ctx.logger.info({ err: error }, 'could not close a prepared transport'));
    }
    if (session !== keep) {
      session.joining.delete(peer.peerId);
      await this.#rooms.releaseIfIdle(session, ctx, ctx.logger);
    }
  }
}
