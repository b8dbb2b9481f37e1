/**
 * The signaling server: socket.io for browsers (join token checked on the handshake), driving the
 * room's media node over gRPC, presence in Redis (shared by every signaling instance through the
 * socket.io Redis adapter), participant sessions in Postgres, registered in Consul.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server as IoServer } from 'socket.io';
import { verifyJoinToken } from '@switchboard/auth';
import { ConsulClient, registerHttpService, type Registration } from '@switchboard/consul';
import { createPool, migrate, type Pool } from '@switchboard/db';
import { AppError, fromUnknown, NotFoundError, parseOrThrow, UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import {
  client as prom,
  collectedGauge,
  createRegistry,
  GRPC_BUCKETS,
  serveMetrics,
} from '@switchboard/metrics';
import {
  dtlsParametersToProto,
  iceCandidateFromProto,
  iceParametersFromProto,
  mediaKindFromProto,
  mediaKindToProto,
  rtpCapabilitiesToProto,
  rtpParametersFromProto,
  rtpParametersToProto,
  type WatchRoomEventsResponse,
} from '@switchboard/proto';
import {
  requestSchemas,
  type Ack,
  type ClientToServerEvents,
  type RequestName,
  type ResponseMap,
  type ServerToClientEvents,
} from '@switchboard/protocol';
import type { z } from 'zod';
import type { SignalingConfig } from './config';
import { MediaDirectory } from './MediaDirectory';
import { checkLimit, owned, type PeerSocket, type PeerState, type SocketData } from './peer';
import { Presence } from './Presence';
import { RoomSessions, type RoomSession } from './RoomSessions';

interface RequestContext {
  correlationId: string;
  /** The requesting peer (travels to the media node as x-peer-id). */
  peerId: string;
  logger: Logger;
}

type Handler<E extends RequestName> = (
  socket: PeerSocket,
  payload: z.output<(typeof requestSchemas)[E]>,
  ctx: RequestContext,
) => Promise<ResponseMap[E]>;

export class SignalingServer {
  readonly #config: SignalingConfig;
  readonly #logger: Logger;
  readonly #http: HttpServer;
  readonly #io: IoServer<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  readonly #redis: Redis;
  readonly #redisSub: Redis;
  readonly #pool: Pool;
  readonly #presence: Presence;
  readonly #registry: prom.Registry;
  readonly #requestDuration: prom.Histogram<'event' | 'outcome'>;
  readonly #grpcDuration: prom.Histogram<'method' | 'code'>;
  #rooms?: RoomSessions;
  /** Leaves in progress (disconnects); close() waits for them before closing clients and pools. */
  readonly #leaving = new Set<Promise<void>>();
  #directory?: MediaDirectory;
  #registration?: Registration;
  /** This instance's id (its Consul service id), stored with its peers' presence. */
  #instanceId = '';
  #heartbeat?: NodeJS.Timeout;
  #draining = false;
  #closed = false;

  private constructor(config: SignalingConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    this.#redisSub = this.#redis.duplicate();
    this.#redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
    this.#redisSub.on('error', (error) => logger.warn({ err: error }, 'redis (subscriber) error'));
    this.#pool = createPool(config.databaseUrl);
    this.#presence = new Presence(this.#redis);
    this.#registry = createRegistry('signaling');
    this.#requestDuration = new prom.Histogram({
      name: 'switchboard_socket_request_seconds',
      help: 'Time to answer a socket request, by event and outcome (ok or an error code)',
      labelNames: ['event', 'outcome'],
      buckets: GRPC_BUCKETS,
      registers: [this.#registry],
    });
    this.#grpcDuration = new prom.Histogram({
      name: 'switchboard_grpc_client_handling_seconds',
      help: 'Time for a MediaService RPC as seen by signaling, by method and status code',
      labelNames: ['method', 'code'],
      buckets: GRPC_BUCKETS,
      registers: [this.#registry],
    });
    collectedGauge(
      this.#registry,
      'switchboard_signaling_sockets',
      'Browser sockets connected to this instance',
      () => this.#io.engine?.clientsCount ?? 0,
    );
    collectedGauge(
      this.#registry,
      'switchboard_signaling_rooms',
      'Rooms with at least one peer on this instance',
      () => this.#rooms?.size ?? 0,
    );
    this.#http = createServer((req, res) => {
      void (async () => {
        if (await serveMetrics(this.#registry, req, res)) {
          return;
        }
        if (req.url === '/healthz') {
          const healthy = !this.#draining && this.#redis.status === 'ready';
          res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: healthy ? 'ok' : 'unavailable', redis: this.#redis.status }));
          return;
        }
        res.writeHead(404).end('not found');
      })();
    });
    this.#io = new IoServer(this.#http, {
      path: '/socket.io',
      serveClient: false,
      cors: config.corsOrigins.length > 0 ? { origin: config.corsOrigins } : undefined,
      maxHttpBufferSize: 256 * 1024,
    });
  }

  static async create(config: SignalingConfig, logger: Logger): Promise<SignalingServer> {
    const server = new SignalingServer(config, logger);
    try {
      await server.#start();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  get port(): number {
    return (this.#http.address() as AddressInfo | null)?.port ?? 0;
  }

  async #start(): Promise<void> {
    try {
      await Promise.all([this.#redis.connect(), this.#redisSub.connect()]);
    } catch (error) {
      throw new UnavailableError(`cannot connect to Redis at ${redact(this.#config.redisUrl)}`, {
        cause: error,
      });
    }
    try {
      await migrate(this.#pool, this.#logger);
    } catch (error) {
      throw new UnavailableError(`cannot migrate Postgres at ${redact(this.#config.databaseUrl)}`, {
        cause: error,
      });
    }
    this.#io.adapter(createAdapter(this.#redis, this.#redisSub, { key: 'sb:io' }));
    const consul = new ConsulClient(this.#config.consulAddr);
    this.#directory = await MediaDirectory.create({
      consul,
      redis: this.#redis,
      logger: this.#logger,
      timeoutMs: this.#config.mediaRpcTimeoutMs,
      histogram: this.#grpcDuration,
    });
    this.#rooms = new RoomSessions({
      directory: this.#directory,
      instanceId: () => this.#instanceId,
      presence: this.#presence,
      logger: this.#logger,
      onEvent: (session, event) => this.#onRoomEvent(session, event),
      onLost: (session) => {
        for (const socket of session.peers.values()) {
          socket.emit('callEnded', { reason: 'The media server lost this call. Rejoin to continue.' });
          socket.disconnect(true);
        }
      },
    });
    this.#io.use((socket, next) => {
      verifyJoinToken((socket.handshake.auth as { token?: unknown }).token, this.#config.jwtSecret)
        .then((claims) => {
          socket.data.peer = {
            peerId: randomUUID(),
            displayName: claims.name,
            roomId: claims.room,
            joined: false,
            transports: new Set(),
            producers: new Set(),
            consumers: new Set(),
          };
          next();
        })
        .catch((error: unknown) => {
          const appError = fromUnknown(error);
          this.#logger.info(
            { reason: appError.message, address: socket.handshake.address },
            'socket refused',
          );
          next(Object.assign(new Error(appError.message), { data: appError.toJSON() }));
        });
    });
    this.#io.on('connection', (socket) => this.#onConnection(socket));
    const { host, port, advertiseHost } = this.#config;
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', (error) =>
        reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`)),
      );
      this.#http.listen(port, host, () => resolve());
    });
    this.#logger.info({ port: this.port }, 'signaling listening');
    this.#instanceId = this.#config.instanceId ?? `signaling-${advertiseHost}-${this.port}`;
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat(), this.#config.heartbeatMs);
    this.#registration = await registerHttpService(
      consul,
      {
        name: 'signaling',
        instanceId: this.#instanceId,
        advertiseHost,
        port: this.port,
        tags: ['socket.io'],
      },
      this.#logger,
    );
  }

  #onConnection(socket: PeerSocket): void {
    const peer = socket.data.peer;
    const logger = this.#logger.child({ roomId: peer.roomId, peerId: peer.peerId });
    logger.info({ displayName: peer.displayName }, 'socket connected');
    const handlers: { [E in RequestName]: Handler<E> } = {
      getRouterRtpCapabilities: (s, _p, ctx) => this.#getRouterRtpCapabilities(s, ctx),
      join: (s, p, ctx) => this.#join(s, p, ctx),
      createWebRtcTransport: (s, p, ctx) => this.#createWebRtcTransport(s, p, ctx),
      connectWebRtcTransport: (s, p, ctx) => this.#connectWebRtcTransport(s, p, ctx),
      produce: (s, p, ctx) => this.#produce(s, p, ctx),
      closeProducer: (s, p, ctx) => this.#closeProducer(s, p, ctx),
      pauseProducer: (s, p, ctx) => this.#setProducerPaused(s, p.producerId, true, ctx),
      resumeProducer: (s, p, ctx) => this.#setProducerPaused(s, p.producerId, false, ctx),
      consume: (s, p, ctx) => this.#consume(s, p, ctx),
      resumeConsumer: (s, p, ctx) => this.#resumeConsumer(s, p, ctx),
      leave: async (s, _p, ctx) => {
        await this.#leave(s, 'requested', ctx.correlationId);
        return {};
      },
    };
    for (const event of Object.keys(handlers) as RequestName[]) {
      this.#on(socket, event, handlers[event] as Handler<typeof event>, logger);
    }
    socket.on('disconnect', (reason) => {
      logger.info({ reason }, 'socket disconnected');
      const leaving = this.#leave(socket, reason, randomUUID())
        .catch((error: unknown) => logger.error({ err: error }, 'cleanup after disconnect failed'))
        .finally(() => this.#leaving.delete(leaving));
      this.#leaving.add(leaving);
    });
  }

  /** Validates, logs, times and answers one request; a bad payload or failure never throws. */
  #on<E extends RequestName>(socket: PeerSocket, event: E, handler: Handler<E>, peerLogger: Logger): void {
    (socket as unknown as { on(e: string, l: (...args: unknown[]) => void): void }).on(
      event,
      (...args: unknown[]) => {
        const ack = args.at(-1);
        const payload = args.length > 1 ? args[0] : {};
        const start = process.hrtime.bigint();
        const given = (payload as { correlationId?: unknown } | null)?.correlationId;
        const correlationId =
          typeof given === 'string' && given.length > 0 && given.length <= 64 ? given : randomUUID();
        const logger = peerLogger.child({ correlationId, event });
        const reply = (response: Ack<ResponseMap[E]>, outcome: string) => {
          this.#requestDuration.observe({ event, outcome }, Number(process.hrtime.bigint() - start) / 1e9);
          if (typeof ack === 'function') {
            ack(response);
          }
        };
        if (typeof ack !== 'function') {
          logger.warn('request without an acknowledgement callback ignored');
          return;
        }
        void (async () => {
          try {
            if (this.#draining) {
              throw new UnavailableError('signaling instance is shutting down; reconnect');
            }
            const parsed = parseOrThrow(requestSchemas[event], payload ?? {}, `${event} payload`) as z.output<
              (typeof requestSchemas)[E]
            >;
            const data = await handler(socket, parsed, {
              correlationId,
              peerId: socket.data.peer.peerId,
              logger,
            });
            reply({ ok: true, data }, 'ok');
            logger.info({ ms: Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10 }, 'request ok');
          } catch (error) {
            const appError = fromUnknown(error);
            if (appError.code === 'INTERNAL') {
              logger.error({ err: error }, 'request failed');
            } else {
              logger.info({ code: appError.code, reason: appError.message }, 'request refused');
            }
            reply({ ok: false, error: { ...appError.toJSON(), correlationId } }, appError.code);
          }
        })();
      },
    );
  }

  /** The room's session on this instance (opened on first use). */
  #session(roomId: string, ctx: RequestContext): Promise<RoomSession> {
    if (!this.#rooms) {
      throw new UnavailableError('signaling is not ready');
    }
    return this.#rooms.open(roomId, ctx, ctx.logger);
  }

  /** Events from the media node; each instance handles those of the peers connected to it. */
  #onRoomEvent(session: RoomSession, response: WatchRoomEventsResponse): void {
    const event = response.event;
    if (!event) {
      return;
    }
    const socket = session.peers.get(event.value.peerId);
    if (!socket) {
      return;
    }
    const peer = socket.data.peer;
    const logger = this.#logger.child({ roomId: session.roomId, peerId: peer.peerId });
    switch (event.$case) {
      case 'producerClosed':
        if (peer.producers.delete(event.value.producerId)) {
          logger.info(
            { producerId: event.value.producerId, reason: event.value.reason },
            'producer closed by media node',
          );
          void this.#presence.removeProducer(session.roomId, event.value.producerId);
          this.#io
            .to(session.roomId)
            .emit('producerClosed', { producerId: event.value.producerId, peerId: peer.peerId });
        }
        break;
      case 'consumerClosed':
        if (peer.consumers.delete(event.value.consumerId)) {
          socket.emit('consumerClosed', {
            consumerId: event.value.consumerId,
            producerId: event.value.producerId,
          });
        }
        break;
      case 'transportClosed':
        if (peer.transports.delete(event.value.transportId)) {
          logger.warn(
            { transportId: event.value.transportId, reason: event.value.reason },
            'transport closed by media node',
          );
        }
        break;
      case 'producerPaused':
        break;
    }
  }

  #requireJoined(socket: PeerSocket): { peer: PeerState; session: Promise<RoomSession> } {
    const peer = socket.data.peer;
    const session = this.#rooms?.current(peer.roomId);
    if (!peer.joined || !session) {
      throw new AppError('FAILED_PRECONDITION', 'join the room first');
    }
    return { peer, session };
  }

  async #getRouterRtpCapabilities(
    socket: PeerSocket,
    ctx: RequestContext,
  ): Promise<ResponseMap['getRouterRtpCapabilities']> {
    const peer = socket.data.peer;
    const session = await this.#session(peer.roomId, ctx);
    if (!peer.joined) {
      session.pending.add(peer.peerId);
    }
    return { rtpCapabilities: session.rtpCapabilities };
  }

  async #join(
    socket: PeerSocket,
    payload: z.output<(typeof requestSchemas)['join']>,
    ctx: RequestContext,
  ): Promise<ResponseMap['join']> {
    const peer = socket.data.peer;
    if (peer.joined) {
      throw new AppError('FAILED_PRECONDITION', 'already joined');
    }
    const session = await this.#session(peer.roomId, ctx);
    await this.#pool.query(
      `WITH room AS (INSERT INTO rooms (name) VALUES ($1) ON CONFLICT (name) DO NOTHING)
       INSERT INTO participant_sessions (room_name, peer_id, display_name) VALUES ($1, $2, $3)`,
      [peer.roomId, peer.peerId, peer.displayName],
    );
    peer.rtpCapabilities = payload.rtpCapabilities;
    peer.joined = true;
    session.pending.delete(peer.peerId);
    session.peers.set(peer.peerId, socket);
    const info = { peerId: peer.peerId, displayName: peer.displayName };
    await this.#presence.addPeer(peer.roomId, info, this.#instanceId);
    await socket.join(peer.roomId);
    const [peers, producers] = await Promise.all([
      this.#presence.peers(peer.roomId),
      this.#presence.producers(peer.roomId),
    ]);
    socket.to(peer.roomId).emit('peerJoined', info);
    ctx.logger.info({ displayName: peer.displayName, others: peers.length - 1 }, 'peer joined');
    return {
      roomId: peer.roomId,
      peerId: peer.peerId,
      displayName: peer.displayName,
      peers: peers.filter((p) => p.peerId !== peer.peerId),
      producers: producers.filter((p) => p.peerId !== peer.peerId),
    };
  }

  async #createWebRtcTransport(
    socket: PeerSocket,
    payload: z.output<(typeof requestSchemas)['createWebRtcTransport']>,
    ctx: RequestContext,
  ): Promise<ResponseMap['createWebRtcTransport']> {
    const { peer, session } = this.#requireJoined(socket);
    checkLimit(peer.transports, 'transports');
    const { media } = await session;
    const response = await media.call(
      'createWebRtcTransport',
      { roomId: peer.roomId, peerId: peer.peerId, producing: payload.producing },
      ctx,
    );
    if (!response.iceParameters || !response.dtlsParameters) {
      throw new AppError('INTERNAL', 'media node returned an incomplete transport');
    }
    peer.transports.add(response.transportId);
    return {
      id: response.transportId,
      iceParameters: iceParametersFromProto(response.iceParameters),
      iceCandidates: response.iceCandidates.map(iceCandidateFromProto),
      dtlsParameters: {
        role: response.dtlsParameters.role as 'auto' | 'client' | 'server',
        fingerprints: response.dtlsParameters.fingerprints,
      },
    };
  }

  async #connectWebRtcTransport(
    socket: PeerSocket,
    payload: z.output<(typeof requestSchemas)['connectWebRtcTransport']>,
    ctx: RequestContext,
  ): Promise<ResponseMap['connectWebRtcTransport']> {
    const { peer, session } = this.#requireJoined(socket);
    const { media } = await session;
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

  async #produce(
    socket: PeerSocket,
    payload: z.output<(typeof requestSchemas)['produce']>,
    ctx: RequestContext,
  ): Promise<ResponseMap['produce']> {
    const { peer, session } = this.#requireJoined(socket);
    checkLimit(peer.producers, 'producers');
    const { media } = await session;
    const { producerId } = await media.call(
      'produce',
      {
        roomId: peer.roomId,
        transportId: owned(peer.transports, payload.transportId, 'transport'),
        kind: mediaKindToProto(payload.kind),
        rtpParameters: rtpParametersToProto(payload.rtpParameters),
        paused: payload.paused ?? false,
      },
      ctx,
    );
    peer.producers.add(producerId);
    const info = { producerId, peerId: peer.peerId, kind: payload.kind, paused: payload.paused ?? false };
    await this.#presence.addProducer(peer.roomId, info);
    socket.to(peer.roomId).emit('newProducer', info);
    ctx.logger.info({ producerId, kind: payload.kind }, 'producing');
    return { producerId };
  }

  async #closeProducer(
    socket: PeerSocket,
    payload: z.output<(typeof requestSchemas)['closeProducer']>,
    ctx: RequestContext,
  ): Promise<ResponseMap['closeProducer']> {
    const { peer, session } = this.#requireJoined(socket);
    const { media } = await session;
    const producerId = owned(peer.producers, payload.producerId, 'producer');
    await media.call('closeProducer', { roomId: peer.roomId, producerId }, ctx);
    peer.producers.delete(producerId);
    await this.#presence.removeProducer(peer.roomId, producerId);
    socket.to(peer.roomId).emit('producerClosed', { producerId, peerId: peer.peerId });
    return {};
  }

  async #setProducerPaused(
    socket: PeerSocket,
    producerId: string,
    paused: boolean,
    ctx: RequestContext,
  ): Promise<Record<string, never>> {
    const { peer, session } = this.#requireJoined(socket);
    const { media } = await session;
    owned(peer.producers, producerId, 'producer');
    await media.call(paused ? 'pauseProducer' : 'resumeProducer', { roomId: peer.roomId, producerId }, ctx);
    await this.#presence.setProducerPaused(peer.roomId, producerId, paused);
    socket.to(peer.roomId).emit('producerPaused', { producerId, peerId: peer.peerId, paused });
    return {};
  }

  async #consume(
    socket: PeerSocket,
    payload: z.output<(typeof requestSchemas)['consume']>,
    ctx: RequestContext,
  ): Promise<ResponseMap['consume']> {
    const { peer, session } = this.#requireJoined(socket);
    checkLimit(peer.consumers, 'consumers');
    const { media } = await session;
    const producer = await this.#presence.producer(peer.roomId, payload.producerId);
    if (!producer) {
      throw new NotFoundError(`producer ${payload.producerId} is not in room ${peer.roomId}`);
    }
    const response = await media.call(
      'consume',
      {
        roomId: peer.roomId,
        transportId: owned(peer.transports, payload.transportId, 'transport'),
        producerId: payload.producerId,
        rtpCapabilities: rtpCapabilitiesToProto(peer.rtpCapabilities ?? {}),
      },
      ctx,
    );
    if (!response.rtpParameters) {
      throw new AppError('INTERNAL', 'media node returned a consumer without RTP parameters');
    }
    peer.consumers.add(response.consumerId);
    return {
      consumerId: response.consumerId,
      producerId: response.producerId,
      peerId: producer.peerId,
      kind: mediaKindFromProto(response.kind) ?? producer.kind,
      rtpParameters: rtpParametersFromProto(response.rtpParameters),
      producerPaused: response.producerPaused,
    };
  }

  async #resumeConsumer(
    socket: PeerSocket,
    payload: z.output<(typeof requestSchemas)['resumeConsumer']>,
    ctx: RequestContext,
  ): Promise<ResponseMap['resumeConsumer']> {
    const { peer, session } = this.#requireJoined(socket);
    const { media } = await session;
    await media.call(
      'resumeConsumer',
      {
        roomId: peer.roomId,
        consumerId: owned(peer.consumers, payload.consumerId, 'consumer'),
      },
      ctx,
    );
    return {};
  }

  /** Removes the peer everywhere (media node, presence, Postgres); closes the room when it empties. */
  async #leave(socket: PeerSocket, reason: string, correlationId: string): Promise<void> {
    const peer = socket.data.peer;
    const meta = { correlationId, peerId: peer.peerId };
    const logger = this.#logger.child({ roomId: peer.roomId, peerId: peer.peerId, correlationId });
    const sessionPromise = this.#rooms?.current(peer.roomId);
    const session = sessionPromise ? await sessionPromise.catch(() => undefined) : undefined;
    if (!peer.joined) {
      // It may have opened the room's session (asked for capabilities) without joining.
      if (session?.pending.delete(peer.peerId)) {
        await this.#rooms?.releaseIfIdle(session, meta, logger);
      }
      return;
    }
    peer.joined = false;
    session?.peers.delete(peer.peerId);
    const { producers } = await this.#presence.removePeer(peer.roomId, peer.peerId);
    for (const producer of producers) {
      this.#io
        .to(peer.roomId)
        .emit('producerClosed', { producerId: producer.producerId, peerId: peer.peerId });
    }
    this.#io.to(peer.roomId).emit('peerLeft', { peerId: peer.peerId });
    void socket.leave(peer.roomId);
    peer.transports.clear();
    peer.producers.clear();
    peer.consumers.clear();
    await this.#pool
      .query('UPDATE participant_sessions SET left_at = now() WHERE peer_id = $1', [peer.peerId])
      .catch((error: unknown) => logger.error({ err: error }, 'could not record leaving'));
    if (session) {
      await session.media
        .call('leaveRoom', { roomId: peer.roomId, peerId: peer.peerId }, meta)
        .catch((error: unknown) => logger.warn({ err: error }, 'media node LeaveRoom failed'));
      await this.#rooms?.releaseIfIdle(session, meta, logger);
    }
    logger.info({ reason }, 'peer left');
  }

  /** Keeps this instance's presence alive, and takes a turn at sweeping crashed instances' peers. */
  async #beat(): Promise<void> {
    const ttl = this.#config.heartbeatMs * 3;
    try {
      await this.#presence.heartbeat(this.#instanceId, ttl);
      if (await this.#presence.takeSweeperTurn(this.#instanceId, this.#config.heartbeatMs)) {
        for (const room of await this.#presence.sweep()) {
          for (const peerId of room.ghosts) {
            await this.#removeGhost(room.roomId, peerId);
          }
          if (room.abandoned) {
            await this.#closeAbandonedRoom(room.roomId);
          }
        }
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'presence heartbeat failed');
    }
  }

  /**
   * A peer of a signaling instance that died without saying goodbye: take it out of the room for
   * everyone (presence, the others' screens, the media node, the session record).
   */
  async #removeGhost(roomId: string, peerId: string): Promise<void> {
    const correlationId = randomUUID();
    const logger = this.#logger.child({ roomId, peerId, correlationId });
    const { producers } = await this.#presence.removePeer(roomId, peerId);
    for (const producer of producers) {
      this.#io.to(roomId).emit('producerClosed', { producerId: producer.producerId, peerId });
    }
    this.#io.to(roomId).emit('peerLeft', { peerId });
    await this.#pool
      .query('UPDATE participant_sessions SET left_at = now() WHERE peer_id = $1 AND left_at IS NULL', [
        peerId,
      ])
      .catch((error: unknown) => logger.error({ err: error }, 'could not record leaving'));
    const media = await this.#directory?.assignedClient(roomId);
    await media
      ?.call('leaveRoom', { roomId, peerId }, { correlationId, peerId })
      .catch((error: unknown) => logger.warn({ err: error }, 'media node LeaveRoom failed'));
    logger.warn('removed a peer whose signaling instance stopped without cleaning up');
  }

  /** Nobody alive is in the room or has it open any more: close it on its media node. */
  async #closeAbandonedRoom(roomId: string): Promise<void> {
    const correlationId = randomUUID();
    const media = await this.#directory?.assignedClient(roomId);
    if (media) {
      await media
        .call('closeRoom', { roomId }, { correlationId })
        .catch((error: unknown) => this.#logger.warn({ err: error, roomId }, 'media node CloseRoom failed'));
      await this.#directory?.releaseRoom(roomId, media.instanceId);
    }
    this.#logger.info({ roomId, correlationId }, 'closed a room only crashed instances had open');
  }

  /** Drains: deregisters, says goodbye to every peer here, then closes sockets and pools. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#draining = true;
    await this.#registration?.deregister();
    const sockets = await this.#io.local.fetchSockets().catch(() => []);
    await Promise.all(
      sockets.map((s) =>
        this.#leave(s as unknown as PeerSocket, 'server_shutdown', randomUUID()).catch((error: unknown) =>
          this.#logger.warn({ err: error }, 'leave during shutdown failed'),
        ),
      ),
    );
    await Promise.all(this.#leaving);
    await new Promise<void>((resolve) => {
      this.#io.close(() => resolve());
      setTimeout(resolve, 2000).unref();
    });
    clearInterval(this.#heartbeat);
    if (this.#instanceId) {
      await this.#presence.forgetInstance(this.#instanceId).catch(() => {});
    }
    this.#directory?.close();
    await Promise.allSettled([this.#redis.quit(), this.#redisSub.quit(), this.#pool.end()]);
    this.#logger.info('signaling closed');
  }
}

/** Hides the password of a connection URL for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      parsed.password = '***';
    }
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
