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
import { EventLog } from '@switchboard/events';
import {
  ApiKeyStore,
  ChatStore,
  createPool,
  MatchExclusionStore,
  MatchReportStore,
  migrate,
  RoomStore,
  type Pool,
} from '@switchboard/db';
import { UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { closeRedis, safePublisher, serveOps } from '@switchboard/runtime';
import { client as prom, collectedGauge, createRegistry, GRPC_BUCKETS } from '@switchboard/metrics';
import { trustProxy } from './clientAddress';
import { Chat } from './Chat';
import type { SignalingConfig } from './config';
import { Connections } from './Connections';
import { Departures } from './Departures';
import { Attributes } from './Attributes';
import { ApiServer } from './api/ApiServer';
import { NodeApi } from './api/NodeApi';
import { Matchmaker } from './match/Matchmaker';
import { MatchModeration } from './match/MatchModeration';
import { RoomApi } from './api/RoomApi';
import { authenticateSocket } from './handshake';
import { HostControls } from './HostControls';
import type { MediaClient } from './MediaClient';
import { MediaDirectory } from './MediaDirectory';
import { MediaPreparation } from './MediaPreparation';
import { MediaRequests } from './MediaRequests';
import { hostsRoom, lobbyEntry, MEDIA_LOST_NOTICE, type SignalingIo } from './peer';
import { LocalSockets } from './LocalSockets';
import { Presence } from './Presence';
import { Producers } from './Producers';
import { RoomAccess } from '@switchboard/rooms';
import { QualitySamples } from './QualitySamples';
import { ClientTimings, FIRST_FRAME_BUCKETS } from './ClientTimings';
import { Reactions } from './Reactions';
import { relayRoomEvent } from './roomEvents';
import { ParticipantSessions } from './ParticipantSessions';
import { RoomSessions, type RoomSession } from './RoomSessions';
import { SocketLimits } from './SocketLimits';
import { Sweeper } from './Sweeper';

/** What `create()` connects and finds before the server is built. */
interface Ready {
  redis: Redis;
  redisSub: Redis;
  pool: Pool;
  registry: prom.Registry;
  consul: ConsulClient;
  directory: MediaDirectory;
  instanceId: string;
}

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
  readonly #sockets: LocalSockets;
  /** The server API for integrators (gRPC and REST). */
  readonly #api: ApiServer;
  readonly #matchmaker: Matchmaker;
  readonly #registry: prom.Registry;
  readonly #rooms: RoomSessions;
  readonly #directory: MediaDirectory;
  readonly #consul: ConsulClient;
  /** Lifecycle events that are not a Redis state change of their own (those go with the change). */
  readonly #events: EventLog;
  /**
   * This process's id in presence (its peers, open sessions, heartbeat): its name (the configured
   * instance id, or host and configured port) plus a per-boot suffix, so a process restarted on
   * the same host and port (the launcher's crash restart) never passes for the one that crashed,
   * whose peers the sweeper must remove.
   */
  readonly #instanceId: string;
  #registration?: Registration;
  #sweeper?: Sweeper;
  #draining = false;
  #closed = false;

  /** Everything is built from ready parts (`create()` connects and discovers first). */
  private constructor(config: SignalingConfig, logger: Logger, ready: Ready) {
    this.#config = config;
    this.#logger = logger;
    this.#redis = ready.redis;
    this.#redisSub = ready.redisSub;
    this.#pool = ready.pool;
    this.#registry = ready.registry;
    this.#directory = ready.directory;
    this.#consul = ready.consul;
    this.#instanceId = ready.instanceId;
    this.#presence = new Presence(this.#redis);
    const events = (this.#events = EventLog.create({ redis: this.#redis, logger }));
    this.#limits = new SocketLimits(this.#redis, config.socketLimits, logger);
    const access = (this.#access = new RoomAccess(this.#redis, config.lobby));
    const roomStore = new RoomStore(this.#pool);
    const participants = new ParticipantSessions(this.#pool);
    const requestDuration = new prom.Histogram({
      name: 'switchboard_socket_request_seconds',
      help: 'Time to answer a socket request, by event and outcome (ok or an error code)',
      labelNames: ['event', 'outcome'],
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
      () => this.#rooms.size,
    );
    this.#http = createServer((req, res) => {
      void (async () => {
        const health = () => ({
          ok: !this.#draining && this.#redis.status === 'ready',
          redis: this.#redis.status,
          draining: this.#draining,
        });
        if ((await serveOps(this.#registry, req, res, health)) || (await this.#api.handleHttp(req, res))) {
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
    const sockets = (this.#sockets = new LocalSockets(this.#io));
    this.#rooms = new RoomSessions({
      directory: this.#directory,
      instanceId: this.#instanceId,
      presence: this.#presence,
      logger,
    });
    const producers = new Producers({ io: this.#io, presence: this.#presence, rooms: this.#rooms, logger });
    const hostControls = new HostControls({
      io: this.#io,
      presence: this.#presence,
      access,
      rooms: roomStore,
      removals: this.#redis,
      producers,
      sockets,
      events,
    });
    const chat = new Chat({
      io: this.#io,
      store: new ChatStore(this.#pool),
      presence: this.#presence,
      messagesPerWindow: config.chatLimit.messages,
      windowSeconds: config.chatLimit.windowSeconds,
      logger,
    });
    const preparation = new MediaPreparation(this.#rooms);
    this.#departures = new Departures({
      io: this.#io,
      presence: this.#presence,
      access,
      participants,
      rooms: this.#rooms,
      producers,
      preparation,
      logger,
    });
    const requests = new MediaRequests({
      io: this.#io,
      presence: this.#presence,
      access,
      roomStore,
      participants,
      hostControls,
      rooms: this.#rooms,
      producers,
      instanceId: this.#instanceId,
      chat,
      preparation,
    });
    this.#attributes = new Attributes({
      io: this.#io,
      presence: this.#presence,
      hostControls,
      sockets,
      logger,
    });
    this.#api = new ApiServer({
      api: {
        rooms: new RoomApi({
          rooms: roomStore,
          presence: this.#presence,
          directory: this.#directory,
          hostControls,
          attributes: this.#attributes,
          redis: this.#redis,
          jwtSecret: config.jwtSecret,
          defaultTokenTtlSeconds: config.api.tokenTtlSeconds,
        }),
        nodes: new NodeApi({ directory: this.#directory, events }),
      },
      keys: new ApiKeyStore(this.#pool),
      jwtSecret: config.jwtSecret,
      redis: this.#redis,
      host: config.host,
      port: config.api.port,
      perKeyPerMinute: config.api.perKeyPerMinute,
      perAddressPerMinute: config.api.perAddressPerMinute,
      trustProxy: trustProxy(config.trustProxy),
      histogram: new prom.Histogram({
        name: 'switchboard_api_request_seconds',
        help: 'Server API calls (RoomService, NodeService) by method, transport (grpc or rest) and outcome code',
        labelNames: ['method', 'transport', 'code'],
        buckets: GRPC_BUCKETS,
        registers: [this.#registry],
      }),
      logger: logger.child({ component: 'api' }),
    });
    this.#matchmaker = new Matchmaker({
      io: this.#io,
      redis: this.#redis,
      rooms: roomStore,
      hostControls,
      jwtSecret: config.jwtSecret,
      tokenTtlSeconds: config.api.tokenTtlSeconds,
      ...config.match,
      moderation: new MatchModeration(
        new MatchReportStore(this.#pool),
        new MatchExclusionStore(this.#pool),
        config.exclusion,
      ),
      trustProxy: trustProxy(config.trustProxy),
      instanceId: this.#instanceId,
      logger: logger.child({ component: 'match' }),
    });
    this.#connections = new Connections({
      sockets,
      attributes: this.#attributes,
      reactions: new Reactions({ io: this.#io, perTenSeconds: config.reactionsPer10s }),
      quality: new QualitySamples({
        events,
        everyMs: config.qualitySampleMs,
        loss: new prom.Histogram({
          name: 'switchboard_media_loss_percent',
          help: "Packet loss of call-quality samples (%, the worst of a participant's streams)",
          buckets: [0.5, 1, 2, 5, 10, 20, 50, 100],
          registers: [this.#registry],
        }),
      }),
      timings: new ClientTimings(
        new prom.Histogram({
          name: 'switchboard_time_to_first_frame_seconds',
          help: 'From joining to the first decoded video of someone else, as browsers report it',
          buckets: FIRST_FRAME_BUCKETS,
          registers: [this.#registry],
        }),
      ),
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
    const relayDeps = { io: this.#io, logger, attributes: this.#attributes, producers };
    this.#rooms.on('roomEvent', (session, event, node) => relayRoomEvent(session, event, node, relayDeps));
    // The peers on a lost node (or of a lost room) are told and closed; their browsers rejoin.
    const mediaLost = (session: RoomSession, node?: MediaClient) => {
      for (const [peerId, socket] of session.peers) {
        if (!node || socket.data.peer.media === node) {
          sockets.closePeer(peerId, MEDIA_LOST_NOTICE);
        }
      }
    };
    this.#rooms.on('nodeLost', mediaLost);
    // Every instance with the room open sees the loss; the first to claim it records it.
    this.#rooms.on('nodeLost', (session, node) => {
      const { roomId } = session;
      this.#redis
        .set(`sb:events:once:node.lost:${roomId}:${node.instanceId}`, '1', 'EX', 60, 'NX')
        .then((first) => {
          if (first) {
            events.append({ type: 'node.lost', roomId, data: { node: node.instanceId } });
          }
        })
        .catch((error: unknown) => logger.warn({ err: error, roomId }, 'could not record the node loss'));
    });
    this.#rooms.on('lost', (session) => mediaLost(session));
  }

  /**
   * Connects to Redis and Postgres (migrating it), finds the media nodes through Consul, then
   * builds the server from them and starts it: listening, beating, registered.
   */
  static async create(config: SignalingConfig, logger: Logger): Promise<SignalingServer> {
    // Auto-pipelining: the commands of one turn of the event loop (rate limits, presence, the
    // adapter's publishes) go out in one write, not one write each.
    const redis = new Redis(config.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 3,
      enableAutoPipelining: true,
    });
    const redisSub = redis.duplicate({ enableAutoPipelining: false });
    redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
    redisSub.on('error', (error) => logger.warn({ err: error }, 'redis (subscriber) error'));
    // Chat sends are one short statement each; more connections keep a busy event loop from
    // holding every client while their answers wait to be read.
    const pool = createPool(config.databaseUrl, { max: 20 });
    const releaseAll = () => Promise.allSettled([closeRedis(redis), closeRedis(redisSub), pool.end()]);
    let ready: Ready;
    try {
      try {
        await Promise.all([redis.connect(), redisSub.connect()]);
      } catch (error) {
        throw new UnavailableError(`cannot connect to Redis at ${redact(config.redisUrl)}`, { cause: error });
      }
      try {
        await migrate(pool, logger);
      } catch (error) {
        throw new UnavailableError(`cannot migrate Postgres at ${redact(config.databaseUrl)}`, {
          cause: error,
        });
      }
      const registry = createRegistry('signaling');
      const consul = new ConsulClient(config.consulAddr, { token: config.consulToken });
      const directory = await MediaDirectory.create({
        consul,
        redis,
        logger,
        timeoutMs: config.mediaRpcTimeoutMs,
        credentials: new ServiceCredentials(config.serviceSecret, 'signaling'),
        histogram: new prom.Histogram({
          name: 'switchboard_grpc_client_handling_seconds',
          help: 'Time for a MediaService RPC as seen by signaling, by method and status code',
          labelNames: ['method', 'code'],
          buckets: GRPC_BUCKETS,
          registers: [registry],
        }),
      });
      const name = config.instanceId ?? `signaling-${config.advertiseHost}-${config.port}`;
      const instanceId = `${name}#${randomUUID().slice(0, 8)}`;
      logger.info({ instanceId }, 'presence instance id for this boot');
      ready = { redis, redisSub, pool, registry, consul, directory, instanceId };
    } catch (error) {
      await releaseAll();
      throw error;
    }
    const server = new SignalingServer(config, logger, ready);
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

  /** The socket.io server (tests look at what a connection keeps). */
  get io(): SignalingIo {
    return this.#io;
  }

  /** The server API's gRPC port. */
  get apiPort(): number {
    return this.#api.port;
  }

  async #start(): Promise<void> {
    const publisher = safePublisher(this.#redis, (error) =>
      this.#logger.warn({ err: error }, 'broadcast to other signaling instances lost (Redis unavailable)'),
    );
    this.#io.adapter(createAdapter(publisher, this.#redisSub, { key: 'sb:io' }));
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
    this.#io.on('closePeer', (peerId, notice) => this.#sockets.closePeer(peerId, notice));
    this.#io.on('endRoom', (roomId, notice) => this.#sockets.endRoom(roomId, notice));
    this.#io.on('peerAttributes', (peerId, attributes) => this.#attributes.remember(peerId, attributes));
    const { host, port, advertiseHost } = this.#config;
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', (error) =>
        reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`)),
      );
      this.#http.listen(port, host, () => resolve());
    });
    this.#logger.info({ port: this.port }, 'signaling listening');
    await this.#api.start();
    const serviceId = this.#config.instanceId ?? `signaling-${advertiseHost}-${this.port}`;
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
          this.#sockets.closePeerEverywhere(entry.peerId, {
            event: 'denied',
            reason: `Nobody let you in within ${minutes < 1 ? 'a minute' : `${minutes} minutes`}. Ask a host, then try again.`,
          });
        }
        this.#logger.info({ roomId, peerId: entry.peerId, why }, 'lobby waiter taken out');
      },
      onForgotten: () => this.#reregister(),
    });
    this.#registration = await registerHttpService(
      this.#consul,
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
    const counts = await this.#rooms.reregister();
    let waiting = 0;
    for (const socket of this.#sockets.values()) {
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
    this.#matchmaker.close();
    await Promise.all([this.#connections.drain(), this.#api.close()]);
    await new Promise<void>((resolve) => {
      this.#io.close(() => resolve());
      setTimeout(resolve, 2000).unref();
    });
    await this.#sweeper?.close();
    this.#directory.close();
    await this.#events.close();
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
