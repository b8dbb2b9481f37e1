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
import { ConsulClient, registerHttpService, type Registration } from '@switchboard/consul';
import { ChatStore, createPool, migrate, RoomStore, type Pool } from '@switchboard/db';
import { AppError, parseOrThrow, UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { safePublisher, serveOps, timedRequest } from '@switchboard/runtime';
import { client as prom, collectedGauge, createRegistry, GRPC_BUCKETS } from '@switchboard/metrics';
import {
  requestSchemas,
  type Ack,
  type PresenceState,
  type RequestName,
  type ResponseMap,
} from '@switchboard/protocol';
import type { z } from 'zod';
import { Chat } from './Chat';
import type { SignalingConfig } from './config';
import { Departures } from './Departures';
import { authenticateSocket } from './handshake';
import { HostControls, peerRoom } from './HostControls';
import { MediaDirectory } from './MediaDirectory';
import { MediaRequests, type RequestContext } from './MediaRequests';
import { joinedPeer, type ClosingNotice, type PeerSocket, type SignalingIo } from './peer';
import { Presence } from './Presence';
import { RoomAccess } from './RoomAccess';
import { relayRoomEvent } from './roomEvents';
import { ParticipantSessions } from './ParticipantSessions';
import { RoomSessions } from './RoomSessions';
import { SocketLimits } from './SocketLimits';
import { Sweeper } from './Sweeper';

type Handler<E extends RequestName> = (
  socket: PeerSocket,
  payload: z.output<(typeof requestSchemas)[E]>,
  ctx: RequestContext,
) => Promise<ResponseMap[E]>;

export class SignalingServer {
  readonly #config: SignalingConfig;
  readonly #logger: Logger;
  readonly #http: HttpServer;
  readonly #io: SignalingIo;
  readonly #redis: Redis;
  readonly #redisSub: Redis;
  readonly #pool: Pool;
  readonly #presence: Presence;
  readonly #access: RoomAccess;
  readonly #roomStore: RoomStore;
  readonly #limits: SocketLimits;
  readonly #hostControls: HostControls;
  readonly #requests: MediaRequests;
  readonly #chat: Chat;
  readonly #departures: Departures;
  /** Sockets connected to this instance, by peer id (joined or not). */
  readonly #localPeers = new Map<string, PeerSocket>();
  readonly #registry: prom.Registry;
  readonly #requestDuration: prom.Histogram<'event' | 'outcome'>;
  readonly #grpcDuration: prom.Histogram<'method' | 'code'>;
  #rooms?: RoomSessions;
  /** Leaves in progress (disconnects); close() waits for them before closing clients and pools. */
  readonly #leaving = new Set<Promise<void>>();
  #directory?: MediaDirectory;
  #registration?: Registration;
  /**
   * This process's id in presence (its peers, open sessions, heartbeat): the Consul service id plus
   * a per-boot suffix, so a process restarted on the same host and port (the launcher's crash
   * restart) never passes for the one that crashed, whose peers the sweeper must remove.
   */
  #instanceId = '';
  #sweeper?: Sweeper;
  readonly #participants: ParticipantSessions;
  #draining = false;
  #closed = false;

  private constructor(config: SignalingConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    this.#redisSub = this.#redis.duplicate();
    this.#redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
    this.#redisSub.on('error', (error) => logger.warn({ err: error }, 'redis (subscriber) error'));
    // Chat sends are one short statement each; more connections keep a busy event loop from
    // holding every client while their answers wait to be read.
    this.#pool = createPool(config.databaseUrl, { max: 20 });
    this.#presence = new Presence(this.#redis);
    this.#access = new RoomAccess(this.#redis);
    this.#roomStore = new RoomStore(this.#pool);
    this.#participants = new ParticipantSessions(this.#pool);
    this.#limits = new SocketLimits(this.#redis, config.socketLimits, logger);
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
        const health = () => ({
          ok: !this.#draining && this.#redis.status === 'ready',
          redis: this.#redis.status,
          draining: this.#draining,
        });
        if (await serveOps(this.#registry, req, res, health)) {
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
    this.#hostControls = new HostControls({
      io: this.#io,
      presence: this.#presence,
      access: this.#access,
      rooms: this.#roomStore,
      removals: this.#redis,
      media: async (roomId) => {
        const session = this.#rooms?.current(roomId);
        if (!session) {
          throw new AppError('FAILED_PRECONDITION', 'join the room first');
        }
        return (await session).media;
      },
      closePeer: (peerId, notice) => {
        this.#closeLocalPeer(peerId, notice);
        this.#io.serverSideEmit('closePeer', peerId, notice);
      },
      endRoom: (roomId, notice) => {
        this.#endLocalRoom(roomId, notice);
        this.#io.serverSideEmit('endRoom', roomId, notice);
      },
    });
    this.#chat = new Chat({
      io: this.#io,
      store: new ChatStore(this.#pool),
      presence: this.#presence,
      messagesPerWindow: config.chatLimit.messages,
      windowSeconds: config.chatLimit.windowSeconds,
      logger,
    });
    this.#departures = new Departures({
      io: this.#io,
      presence: this.#presence,
      access: this.#access,
      participants: this.#participants,
      rooms: () => this.#rooms,
      directory: () => this.#directory,
      logger,
    });
    this.#requests = new MediaRequests({
      io: this.#io,
      presence: this.#presence,
      access: this.#access,
      roomStore: this.#roomStore,
      participants: this.#participants,
      hostControls: this.#hostControls,
      rooms: () => this.#rooms,
      instanceId: () => this.#instanceId,
      chat: this.#chat,
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
    const publisher = safePublisher(this.#redis, (error) =>
      this.#logger.warn({ err: error }, 'broadcast to other signaling instances lost (Redis unavailable)'),
    );
    this.#io.adapter(createAdapter(publisher, this.#redisSub, { key: 'sb:io' }));
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
      onEvent: (session, event) =>
        relayRoomEvent(session, event, { io: this.#io, presence: this.#presence, logger: this.#logger }),
      onLost: (session) => {
        for (const socket of session.peers.values()) {
          socket.emit('callEnded', { reason: 'The media server lost this call. Rejoin to continue.' });
          socket.disconnect(true);
        }
      },
    });
    this.#io.use(
      authenticateSocket({
        secret: this.#config.jwtSecret,
        removals: this.#redis,
        trustProxy: this.#config.trustProxy,
        logger: this.#logger,
      }),
    );
    this.#io.on('connection', (socket) => this.#onConnection(socket));
    this.#io.on('closePeer', (peerId, notice) => this.#closeLocalPeer(peerId, notice));
    this.#io.on('endRoom', (roomId, notice) => this.#endLocalRoom(roomId, notice));
    const { host, port, advertiseHost } = this.#config;
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', (error) =>
        reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`)),
      );
      this.#http.listen(port, host, () => resolve());
    });
    this.#logger.info({ port: this.port }, 'signaling listening');
    const serviceId = this.#config.instanceId ?? `signaling-${advertiseHost}-${this.port}`;
    this.#instanceId = `${serviceId}#${randomUUID().slice(0, 8)}`;
    this.#logger.info({ instanceId: this.#instanceId }, 'presence instance id for this boot');
    this.#sweeper = await Sweeper.start({
      presence: this.#presence,
      instanceId: this.#instanceId,
      heartbeatMs: this.#config.heartbeatMs,
      logger: this.#logger,
      onGhost: (roomId, peerId) => this.#departures.removeGhost(roomId, peerId),
      onAbandoned: (roomId) => this.#departures.closeAbandonedRoom(roomId),
    });
    this.#registration = await registerHttpService(
      consul,
      {
        name: 'signaling',
        instanceId: serviceId,
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
      getRouterRtpCapabilities: (s, _p, ctx) => this.#requests.getRouterRtpCapabilities(s, ctx),
      join: (s, p, ctx) => this.#requests.join(s, p, ctx),
      createWebRtcTransport: (s, p, ctx) => this.#requests.createWebRtcTransport(s, p, ctx),
      connectWebRtcTransport: (s, p, ctx) => this.#requests.connectWebRtcTransport(s, p, ctx),
      produce: (s, p, ctx) => this.#requests.produce(s, p, ctx),
      closeProducer: (s, p, ctx) => this.#requests.closeProducer(s, p, ctx),
      pauseProducer: (s, p, ctx) => this.#requests.setProducerPaused(s, p.producerId, true, ctx),
      resumeProducer: (s, p, ctx) => this.#requests.setProducerPaused(s, p.producerId, false, ctx),
      consume: (s, p, ctx) => this.#requests.consume(s, p, ctx),
      resumeConsumer: (s, p, ctx) => this.#requests.resumeConsumer(s, p, ctx),
      leave: async (s, _p, ctx) => {
        await this.#departures.leave(s, 'requested', ctx.correlationId);
        return {};
      },
      hostMute: async (s, p, ctx) => (await this.#hostControls.mute(s, p, ctx, ctx.logger), {}),
      hostAllowUnmute: async (s, p) => (await this.#hostControls.allowUnmute(s, p), {}),
      removePeer: async (s, p, ctx) => (await this.#hostControls.remove(s, p, ctx.logger), {}),
      admit: async (s, p, ctx) => (await this.#hostControls.admit(s, p, ctx.logger), {}),
      deny: async (s, p, ctx) => (await this.#hostControls.deny(s, p, ctx.logger), {}),
      setPolicy: async (s, p, ctx) => (await this.#hostControls.setPolicy(s, p, ctx.logger), {}),
      promote: async (s, p, ctx) => (await this.#hostControls.promote(s, p, ctx.logger), {}),
      endMeeting: async (s, _p, ctx) => (await this.#hostControls.endMeeting(s, ctx.logger), {}),
      setPresence: (s, p) => this.#setPresence(s, p),
      chatSend: (s, p, ctx) => this.#chat.send(s, p, ctx.logger),
      chatEdit: (s, p, ctx) => this.#chat.edit(s, p, ctx.logger),
      chatDelete: (s, p, ctx) => this.#chat.delete(s, p, ctx.logger),
      chatHistory: (s, p) => this.#chat.history(s, p),
      chatSync: (s, p) => this.#chat.sync(s, p),
      chatSearch: (s, p) => this.#chat.search(s, p),
      chatTyping: (s, p) => this.#chat.typing(s, p),
    };
    this.#localPeers.set(peer.peerId, socket);
    void socket.join(peerRoom(peer.peerId));
    for (const event of Object.keys(handlers) as RequestName[]) {
      this.#on(socket, event, handlers[event] as Handler<typeof event>, logger);
    }
    socket.on('disconnect', (reason) => {
      logger.info({ reason }, 'socket disconnected');
      this.#localPeers.delete(peer.peerId);
      this.#limits.forget(socket.id);
      const leaving = this.#departures
        .leave(socket, reason, randomUUID())
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
        // No payload at all counts as `{}`; anything sent (null included) is validated as it is.
        const payload = args.length > 1 ? args[0] : {};
        const given = (payload as { correlationId?: unknown } | null)?.correlationId;
        const correlationId =
          typeof given === 'string' && given.length > 0 && given.length <= 64 ? given : randomUUID();
        const logger = peerLogger.child({ correlationId, event });
        if (typeof ack !== 'function') {
          logger.warn('request without an acknowledgement callback ignored');
          return;
        }
        const reply = (response: Ack<ResponseMap[E]>, outcome: string, seconds: number) => {
          this.#requestDuration.observe({ event, outcome }, seconds);
          ack(response);
        };
        void (async () => {
          const outcome = await timedRequest(event, logger, async () => {
            if (this.#draining) {
              throw new UnavailableError('signaling instance is shutting down; reconnect');
            }
            await this.#limits.consume(socket.id, socket.data.peer.clientKey);
            const parsed = parseOrThrow(requestSchemas[event], payload, `${event} payload`) as z.output<
              (typeof requestSchemas)[E]
            >;
            return handler(socket, parsed, { correlationId, peerId: socket.data.peer.peerId, logger });
          });
          if (outcome.ok) {
            reply({ ok: true, data: outcome.value }, 'ok', outcome.seconds);
          } else {
            reply(
              { ok: false, error: { ...outcome.error.toJSON(), correlationId } },
              outcome.error.code,
              outcome.seconds,
            );
          }
        })();
      },
    );
  }

  /** In the call or away: recorded in presence and shown to the room. */
  async #setPresence(socket: PeerSocket, p: { state: PresenceState }): Promise<Record<string, never>> {
    const peer = joinedPeer(socket);
    if (await this.#presence.setState(peer.roomId, peer.peerId, p.state)) {
      this.#io.to(peer.roomId).emit('presenceChanged', { peerId: peer.peerId, state: p.state });
    }
    return {};
  }

  /** Tells a peer connected here why, then closes its socket (its disconnect cleans up). */
  #closeLocalPeer(peerId: string, notice: ClosingNotice): void {
    const socket = this.#localPeers.get(peerId);
    if (!socket) {
      return;
    }
    const { event, ...payload } = notice;
    socket.emit(event, payload as never);
    // Next turn of the loop, so a request that caused this (a host ending the meeting for
    // everyone, themselves included) still gets its acknowledgement first.
    setImmediate(() => socket.disconnect(true));
  }

  /** Ends the call for the room's sockets on this instance (joined and waiting alike). */
  #endLocalRoom(roomId: string, notice: ClosingNotice): void {
    for (const [peerId, socket] of this.#localPeers) {
      if (socket.data.peer.roomId === roomId) {
        this.#closeLocalPeer(peerId, notice);
      }
    }
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
        this.#departures
          .leave(s as unknown as PeerSocket, 'server_shutdown', randomUUID())
          .catch((error: unknown) => this.#logger.warn({ err: error }, 'leave during shutdown failed')),
      ),
    );
    await Promise.all(this.#leaving);
    await new Promise<void>((resolve) => {
      this.#io.close(() => resolve());
      setTimeout(resolve, 2000).unref();
    });
    await this.#sweeper?.close();
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
