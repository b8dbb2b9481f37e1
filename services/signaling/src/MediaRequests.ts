/**
 * The media requests of a peer: capabilities, join (with the room's policy and lobby), transports,
 * producers and consumers, each checked against the peer's grants and limits and passed to the
 * room's media node over gRPC. The handler map in SignalingServer routes socket events here.
 */
import { AppError, NotFoundError, PermissionDeniedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import type { RoomStore } from '@switchboard/db';
import {
  dtlsParametersToProto,
  iceParametersFromProto,
  mediaKindFromProto,
  mediaKindToProto,
  rtpParametersFromProto,
  rtpParametersToProto,
} from '@switchboard/proto';
import {
  DEFAULT_SOURCE,
  type ConsumerInfo,
  type JoinResult,
  type MediaSource,
  type ProducerInfo,
  type requestSchemas,
  type ResponseMap,
  type TransportInfo,
} from '@switchboard/protocol';
import type { z } from 'zod';
import type { Chat } from './Chat';
import { KeyedSerial } from './KeyedSerial';
import type { HostControls } from './HostControls';
import { transportInfo } from './transportInfo';
import type { MediaPreparation, PreparedMedia } from './MediaPreparation';
import type { CallMeta, MediaClient } from './MediaClient';
import type { ParticipantSessions } from './ParticipantSessions';
import {
  createWithinLimit,
  hostsRoom,
  joinedPeer,
  lobbyEntry,
  owned,
  peerInfo,
  REPLACED_NOTICE,
  storedPeer,
  type PeerSocket,
  type PeerState,
  type SignalingIo,
} from './peer';
import type { Presence } from './Presence';
import type { RoomAccess } from '@switchboard/rooms';
import type { Producers } from './Producers';
import type { RoomSession, RoomSessions } from './RoomSessions';
import { SharedCapabilities } from './SharedCapabilities';

/** What a request runs with: its correlation id and peer (sent to the media node) and logger. */
export interface RequestContext extends CallMeta {
  correlationId: string;
  peerId: string;
  logger: Logger;
}

type Payload<E extends keyof typeof requestSchemas> = z.output<(typeof requestSchemas)[E]>;

export interface MediaRequestsOptions {
  io: SignalingIo;
  presence: Presence;
  access: RoomAccess;
  roomStore: RoomStore;
  participants: ParticipantSessions;
  hostControls: HostControls;
  rooms: RoomSessions;
  /** Every pause, resume and close of a producer. */
  producers: Producers;
  /** This process's presence id. */
  instanceId: string;
  chat: Chat;
  /** Receiving transports made before joining (`prepare`), taken over by `join`. */
  preparation: MediaPreparation;
}

/**
 * The simulcast layer for a tile `height` device pixels tall. Our sender's layers are a quarter,
 * half and the full camera height (180, 360 and 720 for a 720p camera): a tile gets the smallest
 * layer that is not much smaller than itself.
 */
export function spatialLayerFor(height: number): number {
  if (height <= 240) {
    return 0;
  }
  return height <= 480 ? 1 : 2;
}

/** A joined peer, its room's session and the media node its media is on. */
interface JoinedPeer {
  peer: PeerState;
  session: Promise<RoomSession>;
  media: MediaClient;
}

export class MediaRequests {
  readonly #o: MediaRequestsOptions;
  /** Each consumer's tile views, applied one at a time in the order they came. */
  readonly #views = new KeyedSerial();
  /** The joined peers' capabilities, one copy per distinct value. */
  readonly #capabilities = new SharedCapabilities();

  constructor(options: MediaRequestsOptions) {
    this.#o = options;
  }

  /** The joined peer, its room's session and the media node its media is on. */
  #requireJoined(socket: PeerSocket): JoinedPeer {
    const peer = joinedPeer(socket);
    const session = this.#o.rooms.current(peer.roomId);
    if (!session || !peer.media) {
      throw new AppError('FAILED_PRECONDITION', 'join the room first');
    }
    return { peer, session, media: peer.media };
  }

  async getRouterRtpCapabilities(
    socket: PeerSocket,
    ctx: RequestContext,
  ): Promise<ResponseMap['getRouterRtpCapabilities']> {
    // Answered without opening the room on a media node: only a peer let in opens it (join).
    const session = socket.data.peer.joined ? this.#o.rooms.current(socket.data.peer.roomId) : undefined;
    return {
      rtpCapabilities: session ? (await session).rtpCapabilities : await this.#o.rooms.capabilities(ctx),
    };
  }

  async join(
    socket: PeerSocket,
    payload: Payload<'join'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['join']> {
    const peer = socket.data.peer;
    if (peer.joined) {
      throw new AppError('FAILED_PRECONDITION', 'already joined');
    }
    const { room, waits } = await this.#entry(peer);
    if (waits) {
      if (!peer.inLobby) {
        peer.inLobby = true;
        const entry = { peerId: peer.peerId, displayName: peer.displayName, role: peer.role };
        try {
          peer.lobbyUntil = await this.#o.access.wait(peer.roomId, lobbyEntry(peer), this.#o.instanceId);
        } catch (error) {
          peer.inLobby = false; // the lobby is full
          throw error;
        }
        this.#o.io.to(hostsRoom(peer.roomId)).emit('lobbyRequest', entry);
        ctx.logger.info({ displayName: peer.displayName }, 'waiting in the lobby');
      }
      return { status: 'lobby', roomId: peer.roomId, peerId: peer.peerId };
    }
    peer.inLobby = false;
    // Let in: its token reads the room's chat over REST from now on, and a reconnect skips the lobby.
    await this.#o.access.admit(peer.roomId, peer.sub);
    const taken = await this.#o.preparation.take(peer);
    // The room opens on its media node here (or at `prepare`), for a peer let in, and only then.
    const session = await this.#o.rooms.enter(peer.roomId, peer.peerId, ctx, ctx.logger);
    /** What `prepare` made, once placement kept it; until then `taken`, neither kept nor closed. */
    let prepared: PreparedMedia | undefined;
    let unsettled = taken;
    const giveUp = async (error: unknown): Promise<never> => {
      const made = prepared ?? unsettled;
      if (made) {
        await this.#o.preparation.discard(peer, made, session, ctx);
      }
      session.joining.delete(peer.peerId);
      await this.#o.rooms.releaseIfIdle(session, ctx, ctx.logger);
      throw error;
    };
    let media: MediaClient;
    try {
      // Placed as if nothing were prepared (the node may have filled up or begun draining since):
      // the prepared transport is kept only when it is on the node chosen now.
      media = await this.#o.rooms.placePeer(session, ctx);
      prepared = await this.#o.preparation.usable(peer, taken, session, media, ctx);
      unsettled = undefined;
      await this.#o.participants.joined({
        roomId: peer.roomId,
        peerId: peer.peerId,
        displayName: peer.displayName,
        subject: peer.sub,
        role: peer.role,
      });
    } catch (error) {
      return giveUp(error);
    }
    peer.media = media;
    peer.rtpCapabilities = this.#capabilities.of(payload.rtpCapabilities);
    peer.joined = true;
    session.peers.set(peer.peerId, socket);
    session.joining.delete(peer.peerId);
    // The transports are made while the rest of the join goes on (they need only the peer's node).
    const makingTransports = payload.transports
      ? this.#joinTransports(socket, prepared, ctx).catch((error: unknown) => {
          ctx.logger.warn({ err: error }, 'the transports could not be made with the join');
          return undefined;
        })
      : undefined;
    const info = peerInfo(socket);
    if (!(await this.#o.presence.addPeer(peer.roomId, storedPeer(socket, this.#o.instanceId)))) {
      // A newer connection with this identity took its place meanwhile: it is being closed.
      session.peers.delete(peer.peerId);
      peer.joined = false;
      peer.media = undefined;
      await this.#o.participants.left(peer.peerId);
      return giveUp(new AppError('FAILED_PRECONDITION', REPLACED_NOTICE.reason));
    }
    await socket.join(peer.roomId);
    await this.#o.chat.joined(socket);
    if (peer.role === 'host') {
      await socket.join(hostsRoom(peer.roomId));
    }
    const [peers, producers, lobby, multipleScreenShares, selfUnmuteAllowed, transports] = await Promise.all([
      this.#o.presence.peers(peer.roomId),
      this.#o.presence.producers(peer.roomId),
      peer.role === 'host' ? this.#o.access.waiting(peer.roomId) : [],
      this.#o.access.multipleScreenShares(peer.roomId),
      this.#o.access.selfUnmuteAllowed(peer.roomId),
      makingTransports,
    ]);
    socket.to(peer.roomId).emit('peerJoined', info);
    ctx.logger.info(
      { displayName: peer.displayName, role: peer.role, others: peers.length - 1 },
      'peer joined',
    );
    return {
      status: 'joined',
      roomId: peer.roomId,
      peerId: peer.peerId,
      displayName: peer.displayName,
      role: peer.role,
      policy: room.policy,
      canPublish: peer.canPublish,
      canSubscribe: peer.canSubscribe,
      peers: peers.filter((p) => p.peerId !== peer.peerId),
      producers: producers.filter((p) => p.peerId !== peer.peerId),
      activeSpeaker: session.activeSpeaker,
      multipleScreenShares,
      selfUnmuteAllowed,
      lobby: lobby.map(({ peerId, displayName, role }) => ({ peerId, displayName, role })),
      transports,
    };
  }

  /**
   * Whether `join` lets the peer in now (`waits`: it must wait in the lobby for a host); throws when
   * it may not come in at all (no such room, a locked one for a guest).
   */
  async #entry(
    peer: PeerState,
  ): Promise<{ room: NonNullable<Awaited<ReturnType<RoomStore['get']>>>; waits: boolean }> {
    const room = await this.#o.roomStore.get(peer.roomId);
    if (!room) {
      throw new NotFoundError('this meeting no longer exists');
    }
    if (room.policy === 'locked' && peer.role !== 'host') {
      throw new PermissionDeniedError('this meeting is locked: no one new can join');
    }
    return { room, waits: room.policy === 'lobby' && !(await this.#passesLobby(peer)) };
  }

  /** The receiving transport before joining, where `join` would let the peer straight in. */
  async prepare(socket: PeerSocket, ctx: RequestContext): Promise<ResponseMap['prepare']> {
    const peer = socket.data.peer;
    if (!peer.canSubscribe) {
      throw new PermissionDeniedError('your join token does not allow receiving media');
    }
    if ((await this.#entry(peer)).waits) {
      throw new AppError(
        'FAILED_PRECONDITION',
        'this meeting has a lobby: nothing is prepared before a host lets you in',
      );
    }
    return this.#o.preparation.prepare(socket, ctx);
  }

  /** In a lobby room, hosts, members (accounts a host admitted before) and admitted tokens pass. */
  async #passesLobby(peer: PeerState): Promise<boolean> {
    if (peer.role === 'host' || (await this.#o.access.isAdmitted(peer.roomId, peer.sub))) {
      return true;
    }
    return (
      peer.sub.startsWith('user:') && !!(await this.#o.roomStore.memberRole(peer.roomId, peer.sub.slice(5)))
    );
  }

  async createWebRtcTransport(
    socket: PeerSocket,
    payload: Payload<'createWebRtcTransport'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['createWebRtcTransport']> {
    return this.#transport(this.#requireJoined(socket), payload.producing, !!payload.consumeExisting, ctx);
  }

  /**
   * The transports a join answer carries: those the peer may use, made side by side. One the
   * media node could not make is left out (logged): the client makes it with
   * `createWebRtcTransport`, and the join itself stands.
   */
  async #joinTransports(
    socket: PeerSocket,
    prepared: PreparedMedia | undefined,
    ctx: RequestContext,
  ): Promise<JoinResult['transports']> {
    const joined = this.#requireJoined(socket);
    // A join that fails after this started (a newer connection took its place) closes them: each
    // is checked against the peer once made, as `createWebRtcTransport`'s are.
    const receiving = prepared
      ? this.#onPrepared(joined, prepared, ctx)
      : joined.peer.canSubscribe
        ? this.#transport(joined, false, true, ctx)
        : undefined;
    const [send, recv] = await Promise.allSettled([
      joined.peer.canPublish ? this.#transport(joined, true, false, ctx) : undefined,
      receiving,
    ]);
    for (const outcome of [send, recv]) {
      if (outcome.status === 'rejected') {
        ctx.logger.warn({ err: outcome.reason }, 'a transport could not be made with the join');
      }
    }
    return {
      send: send.status === 'fulfilled' ? send.value : undefined,
      recv: recv.status === 'fulfilled' ? recv.value : undefined,
    };
  }

  /** The prepared receiving transport, with consumers of everything in the room. */
  async #onPrepared(
    { peer, session }: JoinedPeer,
    prepared: PreparedMedia,
    ctx: RequestContext,
  ): Promise<TransportInfo> {
    const { dataConsumer: _made, ...transport } = prepared.recv;
    return { ...transport, consumers: await this.#consumeExisting(peer, await session, transport.id, ctx) };
  }

  async #transport(
    { peer, session, media }: JoinedPeer,
    producing: boolean,
    consumeExisting: boolean,
    ctx: RequestContext,
  ): Promise<TransportInfo> {
    if (producing && !peer.canPublish) {
      throw new PermissionDeniedError('your join token does not allow sending media');
    }
    const response = await createWithinLimit(
      peer,
      'transports',
      () =>
        media.call(
          'createWebRtcTransport',
          { roomId: peer.roomId, peerId: peer.peerId, producing, sctp: false },
          ctx,
        ),
      (created) => peer.transports.add(created.transportId),
    );
    if (!peer.joined || peer.media !== media) {
      // It left (or was replaced) while the node made the transport: its departure's LeaveRoom
      // may have run first, so this one would be left open on the node.
      await media
        .call('closeWebRtcTransport', { roomId: peer.roomId, transportId: response.transportId }, ctx)
        .catch(() => {});
      throw new AppError('FAILED_PRECONDITION', 'you left the room');
    }
    const info = transportInfo(response);
    const consumers =
      consumeExisting && peer.canSubscribe
        ? await this.#consumeExisting(peer, await session, response.transportId, ctx)
        : undefined;
    return { ...info, consumers };
  }

  /**
   * Consumers (paused) of every producer in the room but the peer's own, side by side. One that
   * cannot be made (its producer just closed) is left out: the client consumes what it is told
   * about later through `newProducer` as usual.
   */
  async #consumeExisting(
    peer: PeerState,
    session: RoomSession,
    transportId: string,
    ctx: RequestContext,
  ): Promise<ConsumerInfo[]> {
    const [all, nodes] = await Promise.all([
      this.#o.presence.producers(peer.roomId),
      this.#o.presence.mediaNodes(peer.roomId),
    ]);
    const producers = all.filter((p) => p.peerId !== peer.peerId);
    const made = await Promise.allSettled(
      producers.map((producer) =>
        this.#consumeOne(peer, session, transportId, producer, nodes.get(producer.peerId), ctx),
      ),
    );
    for (const outcome of made) {
      if (outcome.status === 'rejected') {
        ctx.logger.info({ err: outcome.reason }, 'a producer could not be consumed at transport creation');
      }
    }
    return made.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  }

  /**
   * A consumer of `producer` for the peer; a producer of another node (`producerNode`, where its
   * peer is) is piped to the peer's node first.
   */
  async #consumeOne(
    peer: PeerState,
    session: RoomSession,
    transportId: string,
    producer: ProducerInfo,
    producerNode: string | undefined,
    ctx: RequestContext,
  ): Promise<ConsumerInfo> {
    const media = peer.media;
    if (!media) {
      throw new AppError('FAILED_PRECONDITION', 'join the room first');
    }
    const response = await createWithinLimit(
      peer,
      'consumers',
      async () => {
        await this.#o.rooms.pipe(session, producer.producerId, producerNode, media, ctx);
        return media.call(
          'consume',
          {
            roomId: peer.roomId,
            transportId,
            producerId: producer.producerId,
            rtpCapabilities: peer.rtpCapabilities,
          },
          ctx,
        );
      },
      (created) => peer.consumers.add(created.consumerId),
    );
    if (!response.rtpParameters) {
      throw new AppError('INTERNAL', 'media node returned a consumer without RTP parameters');
    }
    return {
      consumerId: response.consumerId,
      producerId: response.producerId,
      peerId: producer.peerId,
      kind: mediaKindFromProto(response.kind) ?? producer.kind,
      source: producer.source ?? DEFAULT_SOURCE[producer.kind],
      rtpParameters: rtpParametersFromProto(response.rtpParameters),
      producerPaused: response.producerPaused,
    };
  }

  async connectWebRtcTransport(
    socket: PeerSocket,
    payload: Payload<'connectWebRtcTransport'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['connectWebRtcTransport']> {
    const peer = socket.data.peer;
    // Before joining, only the transport `prepare` made connects.
    const media = peer.joined
      ? this.#requireJoined(socket).media
      : await this.#o.preparation.nodeOf(peer, payload.transportId);
    if (!media) {
      throw new AppError('FAILED_PRECONDITION', 'join the room first');
    }
    await media.call(
      'connectWebRtcTransport',
      {
        roomId: peer.roomId,
        transportId: owned(peer.transports, payload.transportId, 'transport'),
        dtlsParameters: dtlsParametersToProto(payload.dtlsParameters),
      },
      ctx,
    );
    return {};
  }

  /** Restarts ICE on one of the peer's transports; the client passes the answer to `restartIce()`. */
  async restartIce(
    socket: PeerSocket,
    payload: Payload<'restartIce'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['restartIce']> {
    const { peer, media } = this.#requireJoined(socket);
    const { iceParameters } = await media.call(
      'restartIce',
      { roomId: peer.roomId, transportId: owned(peer.transports, payload.transportId, 'transport') },
      ctx,
    );
    if (!iceParameters) {
      throw new AppError('INTERNAL', 'media node returned no ICE parameters');
    }
    ctx.logger.info({ transportId: payload.transportId }, 'ICE restarted');
    return { iceParameters: iceParametersFromProto(iceParameters) };
  }

  async produce(
    socket: PeerSocket,
    payload: Payload<'produce'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['produce']> {
    const { peer, session, media } = this.#requireJoined(socket);
    if (!peer.canPublish) {
      throw new PermissionDeniedError('your join token does not allow sending media');
    }
    const transportId = owned(peer.transports, payload.transportId, 'transport');
    const { kind } = payload;
    const source = payload.source ?? DEFAULT_SOURCE[kind];
    await this.#checkSource(peer, source);
    const { producerId } = await createWithinLimit(
      peer,
      'producers',
      async () => {
        // What the peer may not turn on by itself (a host's lock, self-unmute off) starts paused.
        const startPaused = (payload.paused ?? false) || (await this.#o.hostControls.unmuteHeld(peer, kind));
        const created = await media.call(
          'produce',
          {
            roomId: peer.roomId,
            transportId,
            kind: mediaKindToProto(kind),
            rtpParameters: rtpParametersToProto(payload.rtpParameters),
            paused: startPaused,
          },
          ctx,
        );
        return { producerId: created.producerId, paused: startPaused };
      },
      ({ producerId, paused }) =>
        this.#o.producers.keep(peer, { producerId, peerId: peer.peerId, kind, source, paused }),
    );
    if (kind === 'audio') {
      // The room's audio levels and active speaker come from its home node: it hears everyone.
      const opened = await session;
      await this.#o.rooms
        .pipe(opened, producerId, media.instanceId, opened.home, ctx)
        .catch((error: unknown) =>
          ctx.logger.warn({ err: error, producerId }, "could not pipe the audio to the room's home node"),
        );
    }
    const info = peer.producers.get(producerId);
    if (!info) {
      throw new AppError('FAILED_PRECONDITION', 'you left the room');
    }
    await this.#o.producers.announce(socket, info);
    ctx.logger.info({ producerId, kind, source }, 'producing');
    return { producerId };
  }

  /**
   * One producer per source and participant; one screen share per room unless a host allows
   * more (checked against the room's producers in Redis, so across signaling instances).
   */
  async #checkSource(peer: PeerState, source: MediaSource): Promise<void> {
    const sources = (info: ProducerInfo) => info.source ?? DEFAULT_SOURCE[info.kind];
    if ([...peer.producers.values()].some((info) => sources(info) === source)) {
      throw new AppError('FAILED_PRECONDITION', `you already send your ${source}; close that producer first`);
    }
    if (source !== 'screen' || (await this.#o.access.multipleScreenShares(peer.roomId))) {
      return;
    }
    const sharing = (await this.#o.presence.producers(peer.roomId)).find(
      (info) => sources(info) === 'screen' && info.peerId !== peer.peerId,
    );
    if (sharing) {
      const sharer = (await this.#o.presence.peers(peer.roomId)).find((p) => p.peerId === sharing.peerId);
      throw new AppError(
        'FAILED_PRECONDITION',
        `${sharer?.displayName ?? 'someone'} is already sharing their screen; a host can let several people share`,
      );
    }
  }

  async closeProducer(
    socket: PeerSocket,
    payload: Payload<'closeProducer'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['closeProducer']> {
    const { peer } = this.#requireJoined(socket);
    const producerId = owned(peer.producers, payload.producerId, 'producer');
    await this.#o.producers.close(socket, producerId, ctx, ctx.logger);
    return {};
  }

  async setProducerPaused(
    socket: PeerSocket,
    producerId: string,
    paused: boolean,
    ctx: RequestContext,
  ): Promise<Record<string, never>> {
    const { peer, media } = this.#requireJoined(socket);
    const { kind } = peer.producers.get(owned(peer.producers, producerId, 'producer'))!;
    if (!paused) {
      await this.#o.hostControls.checkUnmute(peer, kind);
    }
    await this.#o.producers.setPaused(
      { roomId: peer.roomId, producerId, peerId: peer.peerId, by: socket },
      paused,
      ctx,
      media,
    );
    return {};
  }

  async consume(
    socket: PeerSocket,
    payload: Payload<'consume'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['consume']> {
    const { peer, session } = this.#requireJoined(socket);
    if (!peer.canSubscribe) {
      throw new PermissionDeniedError('your join token does not allow receiving media');
    }
    const transportId = owned(peer.transports, payload.transportId, 'transport');
    const [producer, nodes] = await Promise.all([
      this.#o.presence.producer(peer.roomId, payload.producerId),
      this.#o.presence.mediaNodes(peer.roomId),
    ]);
    if (!producer) {
      throw new NotFoundError(`producer ${payload.producerId} is not in room ${peer.roomId}`);
    }
    return this.#consumeOne(peer, await session, transportId, producer, nodes.get(producer.peerId), ctx);
  }

  /** Resumes several of the peer's consumers (each one's first frame is a key frame). */
  async resumeConsumers(
    socket: PeerSocket,
    payload: Payload<'resumeConsumers'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['resumeConsumers']> {
    const { peer, media } = this.#requireJoined(socket);
    const consumerIds = payload.consumerIds.map((id) => owned(peer.consumers, id, 'consumer'));
    await Promise.all(
      consumerIds.map((consumerId) => media.call('resumeConsumer', { roomId: peer.roomId, consumerId }, ctx)),
    );
    return {};
  }

  /**
   * A tile out of sight pauses its consumer; a visible one resumes it with the simulcast layer
   * its height calls for.
   */
  async consumerView(
    socket: PeerSocket,
    payload: Payload<'consumerView'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['consumerView']> {
    const { peer, media } = this.#requireJoined(socket);
    const target = { roomId: peer.roomId, consumerId: owned(peer.consumers, payload.consumerId, 'consumer') };
    // One consumer's views in the order the tile sent them: a resize (shown, two calls) followed
    // at once by leaving the view (hidden, one call) must end paused.
    await this.#views.run(`${peer.peerId}:${target.consumerId}`, async () => {
      if (!payload.visible) {
        await media.call('pauseConsumer', target, ctx);
        return;
      }
      // Layers first: a consumer resumed here for the first time starts with them (one key frame).
      await media.call(
        'setConsumerPreferredLayers',
        { ...target, spatialLayer: spatialLayerFor(payload.height), temporalLayer: undefined },
        ctx,
      );
      await media.call('resumeConsumer', target, ctx);
    });
    return {};
  }

  /** What the media node measures of the peer's transports, producers and consumers. */
  async getStats(socket: PeerSocket, ctx: RequestContext): Promise<ResponseMap['getStats']> {
    const { peer, media } = this.#requireJoined(socket);
    const stats = await media.call('getPeerStats', { roomId: peer.roomId, peerId: peer.peerId }, ctx);
    return {
      transports: stats.transports,
      producers: stats.producers.map(({ kind, ...producer }) => ({
        ...producer,
        kind: mediaKindFromProto(kind) ?? 'video',
      })),
      consumers: stats.consumers.map(({ kind, producerPeerId, ...consumer }) => ({
        ...consumer,
        peerId: producerPeerId,
        kind: mediaKindFromProto(kind) ?? 'video',
      })),
    };
  }

  async resumeConsumer(
    socket: PeerSocket,
    payload: Payload<'resumeConsumer'>,
    ctx: RequestContext,
  ): Promise<ResponseMap['resumeConsumer']> {
    return this.resumeConsumers(socket, { consumerIds: [payload.consumerId] }, ctx);
  }
}
