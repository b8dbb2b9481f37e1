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
import { ServiceCredentials } from '@switchboard/auth';
import { ConsulClient, registerHttpService, type Registration } from '@switchboard/consul';
import { ChatStore, createPool, migrate, RoomStore, type Pool } from '@switchboard/db';
import { AppError, UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { closeRedis, safePublisher, serveOps } from '@switchboard/runtime';
import { client as prom, collectedGauge, createRegistry, GRPC_BUCKETS } from '@switchboard/metrics';
import { trustProxy } from './clientAddress';
import { Chat } from './Chat';
import type { SignalingConfig } from './config';
import { Connections } from './Connections';
import { Departures } from './Departures';
import { Attributes } from './Attributes';
import { authenticateSocket } from './handshake';
import { HostControls } from './HostControls';
import { MediaDirectory } from './MediaDirectory';
import { MediaRequests } from './MediaRequests';
import { hostsRoom, lobbyEntry, type PeerSocket, type SignalingIo } from './peer';
import { Presence } from './Presence';
import { RoomAccess } from '@switchboard/rooms';
import { Reactions } from './Reactions';
import { relayRoomEvent } from './roomEvents';
import { ParticipantSessions } from './ParticipantSessions';
import { RoomSessions } from './RoomSessions';
import { SocketLimits } from './SocketLimits';
import { Sweeper } from './Sweeper';

export class SignalingServer {
  readonly #config: SignalingConfig;
  readonly #logger: Logger;
  readonly #http: HttpServer;
  readonly #io: SignalingIo;
  readonly #redis: Redis;
  readonly #redisSub: Redis;
  readonly #pool: Pool;
  readonly #presence: Presence;
  readonly #limits: SocketLimits;
  readonly #access: RoomAccess;
  readonly #departures: Departures;
  readonly #connections: Connections;
  readonly #attributes: Attributes;
  readonly #registry: prom.Registry;
  readonly #grpcDuration: prom.Histogram<'method' | 'code'>;
  #rooms?: RoomSessions;
  #directory?: MediaDirectory;
  #registration?: Registration;
  /**
   * This process's id in presence (its peers, open sessions, heartbeat): the Consul service id plus
   * a per-boot suffix, so a process restarted on the same host and port (the launcher's crash
   * restart) never passes for the one that crashed, whose peers the sweeper must remove.
   */
  #instanceId = '';
  #sweeper?: Sweeper;
  #draining = false;
  #closed = false;

  private constructor(config: SignalingConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    // Auto-pipelining: the commands of one turn of the event loop (rate limits, presence, the
    // adapter's publishes) go out in one write, not one write each.
    this.#redis = new Redis(config.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 3,
      enableAutoPipelining: true,
    });
    this.#redisSub = this.#redis.duplicate({ enableAutoPipelining: false });
    this.#redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
    this.#redisSub.on('error', (error) => logger.warn({ err: error }, 'redis (subscriber) error'));
    // Chat sends are one short statement each; more connections keep a busy event loop from
    // holding every client while their answers wait to be read.
    this.#pool = createPool(config.databaseUrl, { max: 20 });
    this.#presence = new Presence(this.#redis);
    this.#limits = new SocketLimits(this.#redis, config.socketLimits, logger);
    const access = (this.#access = new RoomAccess(this.#redis, config.lobby));
    const roomStore = new RoomStore(this.#pool);
    const participants = new ParticipantSessions(this.#pool);
    this.#registry = createRegistry('signaling');
    const requestDuration = new prom.Histogram({
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
      pingTimeout: config.pingTimeoutMs,
    });
    const hostControls = new HostControls({
      io: this.#io,
      presence: this.#presence,
      access,
      rooms: roomStore,
      removals: this.#redis,
      pauseProducer: async (roomId, producerId, meta) => {
        if (!this.#rooms?.has(roomId)) {
          throw new AppError('FAILED_PRECONDITION', 'join the room first');
        }
        // Its own node and the nodes it is piped to.
        await this.#rooms.onNodes(roomId, (node) => node.call('pauseProducer', { roomId, producerId }, meta));
      },
      closePeer: (peerId, notice) => this.#connections.closePeerEverywhere(peerId, notice),
      endRoom: (roomId, notice) => {
        this.#connections.endRoom(roomId, notice);
        this.#io.serverSideEmit('endRoom', roomId, notice);
      },
    });
    const chat = new Chat({
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
      access,
      participants,
      rooms: () => this.#rooms,
      logger,
    });
    const requests = new MediaRequests({
      io: this.#io,
      presence: this.#presence,
      access,
      roomStore,
      participants,
      hostControls,
      rooms: () => this.#rooms,
      instanceId: () => this.#instanceId,
      chat,
    });
    const sockets = new Map<string, PeerSocket>();
    this.#attributes = new Attributes({
      io: this.#io,
      presence: this.#presence,
      hostControls,
      localSocket: (peerId) => sockets.get(peerId),
      logger,
    });
    this.#connections = new Connections({
      sockets,
      attributes: this.#attributes,
      reactions: new Reactions({ io: this.#io, perTenSeconds: config.reactionsPer10s, logger }),
      io: this.#io,
      presence: this.#presence,
      limits: this.#limits,
      requests,
      hostControls,
      chat,
      departures: this.#departures,
      requestDuration,
      logger,
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
    const consul = new ConsulClient(this.#config.consulAddr, { token: this.#config.consulToken });
    this.#directory = await MediaDirectory.create({
      consul,
      redis: this.#redis,
      logger: this.#logger,
      timeoutMs: this.#config.mediaRpcTimeoutMs,
      credentials: new ServiceCredentials(this.#config.serviceSecret, 'signaling'),
      histogram: this.#grpcDuration,
    });
    this.#rooms = new RoomSessions({
      directory: this.#directory,
      instanceId: () => this.#instanceId,
      presence: this.#presence,
      logger: this.#logger,
      onEvent: (session, event, fromHome) =>
        relayRoomEvent(session, event, fromHome, {
          io: this.#io,
          presence: this.#presence,
          logger: this.#logger,
          attributes: this.#attributes,
        }),
      onNodeLost: (session, node) => {
        for (const socket of session.peers.values()) {
          if (socket.data.peer.media === node) {
            socket.emit('callEnded', { reason: 'The media server lost this call. Rejoin to continue.' });
            socket.disconnect(true);
          }
        }
      },
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
        trustProxy: trustProxy(this.#config.trustProxy),
        limits: this.#limits,
        presence: this.#presence,
        logger: this.#logger,
      }),
    );
    this.#io.on('connection', (socket) => this.#connections.accept(socket));
    this.#io.on('closePeer', (peerId, notice) => this.#connections.closePeer(peerId, notice));
    this.#io.on('endRoom', (roomId, notice) => this.#connections.endRoom(roomId, notice));
    this.#io.on('peerAttributes', (peerId, attributes) => this.#attributes.remember(peerId, attributes));
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
      lobbies: this.#access,
      onWaiterSwept: ({ roomId, entry, why }) => {
        this.#io.to(hostsRoom(roomId)).emit('lobbyLeft', { peerId: entry.peerId, outcome: 'left' });
        if (why === 'expired') {
          const minutes = Math.round(this.#config.lobby.lobbyWaitMs / 60_000);
          this.#connections.closePeerEverywhere(entry.peerId, {
            event: 'denied',
            reason: `Nobody let you in within ${minutes < 1 ? 'a minute' : `${minutes} minutes`}. Ask a host, then try again.`,
          });
        }
        this.#logger.info({ roomId, peerId: entry.peerId, why }, 'lobby waiter taken out');
      },
      onForgotten: () => this.#reregister(),
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

  /** Writes this instance's rooms, peers and lobby into Redis again (it restarted empty). */
  async #reregister(): Promise<void> {
    const counts = await this.#rooms!.reregister();
    let waiting = 0;
    for (const socket of this.#connections.sockets) {
      if (socket.data.peer.inLobby) {
        const { peer } = socket.data;
        await this.#access.wait(peer.roomId, lobbyEntry(peer), this.#instanceId, peer.lobbyUntil);
        waiting++;
      }
    }
    this.#logger.info({ ...counts, waiting }, 'rooms and peers registered again in Redis');
  }

  /** Drains: deregisters, says goodbye to every peer here, then closes sockets and pools. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#draining = true;
    await this.#registration?.deregister();
    await this.#connections.drain();
    await new Promise<void>((resolve) => {
      this.#io.close(() => resolve());
      setTimeout(resolve, 2000).unref();
    });
    await this.#sweeper?.close();
    this.#directory?.close();
    await Promise.allSettled([closeRedis(this.#redis), closeRedis(this.#redisSub), this.#pool.end()]);
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
