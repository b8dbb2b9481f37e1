/**
 * A media node: the worker pool, its rooms, the gRPC server implementing
 * switchboard.media.v1.MediaService plus grpc.health.v1, the metrics endpoint and the Consul
 * registration. `create()` returns once everything serves; `close()` drains and tears down.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { types } from 'mediasoup';
import { AUTHORIZATION_METADATA, ServiceTokenVerifier } from '@switchboard/auth';
import { ConsulClient, registerService, type Registration } from '@switchboard/consul';
import {
  AppError,
  fromUnknown,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from '@switchboard/errors';
import { toGrpcError } from '@switchboard/errors/grpc';
import type { Logger } from '@switchboard/logger';
import { serveOps, timedRequest } from '@switchboard/runtime';
import { client as prom, collectedGauge, createRegistry, GRPC_BUCKETS } from '@switchboard/metrics';
import {
  CORRELATION_ID_METADATA,
  deepFreeze,
  dtlsParametersFromProto,
  encodingOnce,
  PEER_ID_METADATA,
  iceCandidateToProto,
  iceParametersToProto,
  MEDIA_SERVICE_NAME,
  mediaKindFromProto,
  mediaKindToProto,
  MediaServiceService,
  rtpCapabilitiesFromProto,
  rtpCapabilitiesToProto,
  rtpParametersFromProto,
  rtpParametersToProto,
  type GetRouterRtpCapabilitiesResponse,
  type MediaServiceServer,
  type WatchRoomEventsRequest,
  type GetLoadResponse,
  type MediaKind,
  type RtpParameters,
  type WatchRoomEventsResponse,
} from '@switchboard/proto';
import type { MediaConfig } from './config';
import { MEDIA_CODECS } from './mediaCodecs';
import { Room, type RoomEvent, type WorkerCounts } from './Room';
import { peerStatsToProto } from './stats';
import { WorkerPool } from './WorkerPool';

interface CallContext {
  correlationId: string;
  logger: Logger;
}

/**
 * The highest layer a preferred-layers request may name (codecs use at most 3 spatial and 3
 * temporal layers; mediasoup clamps to what the producer has).
 */
const MAX_LAYER = 9;

const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const SRTP_SUITES = new Set([
  'AEAD_AES_256_GCM',
  'AEAD_AES_128_GCM',
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
]);

/** How often the workers' CPU is sampled and the load in the Consul registration refreshed. */
const LOAD_EVERY_MS = 3000;

function requireId(value: string, field: string): string {
  if (!ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      value
        ? `${field} must be 1-128 characters of letters, digits, '.', '_', ':' or '-'`
        : `${field} is required`,
    );
  }
  return value;
}

/** The kind and RTP parameters of a Produce or ProduceFromPipe request, checked. */
function requireMedia(req: { kind: MediaKind; rtpParameters?: RtpParameters }): {
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
} {
  const kind = mediaKindFromProto(req.kind);
  if (!kind) {
    throw new InvalidArgumentError('kind must be MEDIA_KIND_AUDIO or MEDIA_KIND_VIDEO');
  }
  if (!req.rtpParameters || req.rtpParameters.codecs.length === 0) {
    throw new InvalidArgumentError('rtp_parameters with at least one codec is required');
  }
  return { kind, rtpParameters: rtpParametersFromProto(req.rtpParameters) as types.RtpParameters };
}

function toProtoEvent(roomId: string, event: RoomEvent): WatchRoomEventsResponse {
  switch (event.type) {
    case 'producerClosed':
      return { roomId, event: { $case: 'producerClosed', value: event } };
    case 'consumerClosed':
      return { roomId, event: { $case: 'consumerClosed', value: event } };
    case 'transportClosed':
      return { roomId, event: { $case: 'transportClosed', value: event } };
    case 'producerPaused':
      return { roomId, event: { $case: 'producerPaused', value: event } };
    case 'activeSpeaker':
      return { roomId, event: { $case: 'activeSpeaker', value: event } };
    case 'audioLevels':
      return { roomId, event: { $case: 'audioLevels', value: { levels: event.levels } } };
  }
}

/**
 * Ends a server stream with the error's status. grpc-js sends the status when the stream emits
 * 'error' (`destroy()` would drop it: the caller would wait until its deadline or cancel).
 */
function failStream(call: grpc.ServerWritableStream<unknown, unknown>, error: unknown): void {
  const appError = fromUnknown(error);
  call.emit('error', Object.assign(new Error(appError.message), toGrpcError(appError)));
}

export class MediaNode {
  readonly #config: MediaConfig;
  readonly #logger: Logger;
  readonly #workers: WorkerPool;
  readonly #rooms = new Map<string, Room>();
  readonly #roomsCreating = new Map<string, Promise<Room>>();
  readonly #grpcServer: grpc.Server;
  readonly #health: HealthImplementation;
  /** Every MediaService call carries a service token (the health service stays open to checks). */
  readonly #callers: ServiceTokenVerifier;
  readonly #metricsServer: HttpServer;
  readonly #registry: prom.Registry;
  readonly #grpcDuration: prom.Histogram<'method' | 'code'>;
  readonly #workerDeaths: prom.Counter;
  #registration?: Registration;
  #loadTimer?: ReturnType<typeof setInterval>;
  /** Draining: no new rooms; resolves once the node has none (then it is deregistered). */
  #drained?: Promise<void>;
  /** Called when a room closes while draining. */
  #drainProgress?: () => void;
  #drainTimer?: ReturnType<typeof setTimeout>;
  #closing?: Promise<void>;
  /** What every router of this node can do (one codec list), learnt once from a router. */
  #capabilities?: Promise<types.RtpCapabilities>;
  /** Each room's GetRouterRtpCapabilities answer, made (and encoded: encodingOnce) once. */
  readonly #capabilityAnswers = new WeakMap<Room, GetRouterRtpCapabilitiesResponse>();
  #grpcPort = 0;
  /** Shutting down (after the drain): every RPC is refused, health says NOT_SERVING. */
  #shuttingDown = false;

  private constructor(config: MediaConfig, logger: Logger, workers: WorkerPool) {
    this.#config = config;
    this.#logger = logger;
    this.#workers = workers;
    this.#registry = createRegistry('media');
    this.#grpcDuration = new prom.Histogram({
      name: 'switchboard_grpc_server_handling_seconds',
      help: 'Time to handle a MediaService RPC, by method and status code',
      labelNames: ['method', 'code'],
      buckets: GRPC_BUCKETS,
      registers: [this.#registry],
    });
    this.#workerDeaths = new prom.Counter({
      name: 'switchboard_media_worker_deaths_total',
      help: 'mediasoup workers that died (each was replaced; its rooms ended)',
      registers: [this.#registry],
    });
    this.#registerGauges();
    this.#callers = new ServiceTokenVerifier(config.serviceSecret);
    this.#grpcServer = new grpc.Server();
    this.#health = new HealthImplementation({ '': 'NOT_SERVING', [MEDIA_SERVICE_NAME]: 'NOT_SERVING' });
    this.#health.addToServer(this.#grpcServer);
    this.#grpcServer.addService(
      encodingOnce(MediaServiceService, ['getRouterRtpCapabilities']),
      this.#handlers(),
    );
    this.#metricsServer = createServer((req, res) => {
      const health = () => {
        const workers = this.workerPids.length;
        return { ok: !this.#shuttingDown && workers > 0, workers, draining: this.#shuttingDown };
      };
      void serveOps(this.#registry, req, res, health).then((served) => {
        if (!served) {
          res.writeHead(404).end('not found');
        }
      });
    });
  }

  static async create(config: MediaConfig, logger: Logger): Promise<MediaNode> {
    const ref: { node?: MediaNode } = {};
    const workers = await WorkerPool.create({
      numWorkers: config.numWorkers,
      logLevel: config.workerLogLevel,
      webRtc: {
        ip: config.listenIp,
        announcedAddress: config.announcedAddress,
        firstPort: config.rtcMinPort,
        enabled: config.webRtcServer,
      },
      logger,
      onWorkerDied: () => ref.node?.countWorkerDeath(),
      // Without a worker the node cannot serve; Consul then steers signaling elsewhere.
      onFatal: () => ref.node?.setServing(false),
    });
    const node = new MediaNode(config, logger, workers);
    ref.node = node;
    try {
      await node.#start();
    } catch (error) {
      await node.close();
      throw error;
    }
    return node;
  }

  get grpcPort(): number {
    return this.#grpcPort;
  }

  get metricsPort(): number {
    return (this.#metricsServer.address() as AddressInfo | null)?.port ?? 0;
  }

  get consulId(): string | undefined {
    return this.#registration?.id;
  }

  /** The rooms open on this node. */
  get roomIds(): string[] {
    return [...this.#rooms.keys()];
  }

  get roomCount(): number {
    return this.#rooms.size;
  }

  /** Pids of the live workers. */
  get workerPids(): number[] {
    return this.#workers.workers.filter((w) => !w.died).map((w) => w.pid);
  }

  countWorkerDeath(): void {
    this.#workerDeaths.inc();
  }

  setServing(serving: boolean): void {
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    this.#health.setStatus('', status);
    this.#health.setStatus(MEDIA_SERVICE_NAME, status);
  }

  async #start(): Promise<void> {
    const { grpcHost, grpcPort, metricsPort, advertiseHost } = this.#config;
    this.#grpcPort = await new Promise<number>((resolve, reject) => {
      this.#grpcServer.bindAsync(
        `${grpcHost}:${grpcPort}`,
        grpc.ServerCredentials.createInsecure(),
        (error, port) =>
          error
            ? reject(new Error(`cannot listen for gRPC on ${grpcHost}:${grpcPort}: ${error.message}`))
            : resolve(port),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.#metricsServer.once('error', reject);
      this.#metricsServer.listen(metricsPort, grpcHost, () => resolve());
    });
    this.setServing(true);
    this.#logger.info(
      { grpcPort: this.#grpcPort, metricsPort: this.metricsPort, workers: this.#workers.size },
      'media node serving',
    );
    const consul = new ConsulClient(this.#config.consulAddr, { token: this.#config.consulToken });
    this.#registration = await registerService(
      consul,
      {
        id: this.#config.instanceId ?? `media-${advertiseHost}-${this.#grpcPort}`,
        name: 'media',
        address: advertiseHost,
        port: this.#grpcPort,
        tags: ['grpc', 'switchboard'],
        meta: this.#meta(),
        check: {
          grpc: `${advertiseHost}:${this.#grpcPort}`,
          interval: '2s',
          deregisterCriticalServiceAfter: '1m',
        },
      },
      this.#logger,
    );
    this.#loadTimer = setInterval(() => void this.#refreshLoad(), LOAD_EVERY_MS);
    this.#loadTimer.unref();
  }

  /** What this node carries, per worker and in all, and whether it takes new rooms. */
  load(): GetLoadResponse {
    const perWorker = this.#countsByWorker();
    const total = { transports: 0, producers: 0, consumers: 0 };
    for (const counts of perWorker.values()) {
      total.transports += counts.transports;
      total.consumers += counts.consumers;
    }
    for (const room of this.#rooms.values()) {
      total.producers += room.producerCount;
    }
    const pids = this.workerPids;
    const maxConsumers = this.#config.maxConsumersPerWorker * pids.length;
    return {
      workers: pids.map((pid) => ({
        pid,
        routers: this.#workers.routers(pid),
        transports: perWorker.get(pid)?.transports ?? 0,
        consumers: perWorker.get(pid)?.consumers ?? 0,
        cpu: this.#workers.cpu(pid),
      })),
      rooms: this.#rooms.size,
      ...total,
      maxConsumers,
      accepting: !this.#drained && pids.length > 0 && total.consumers < maxConsumers,
      draining: this.#drained !== undefined,
    };
  }

  /** Transports and consumers on each worker, across every room. */
  #countsByWorker(): Map<number, WorkerCounts> {
    const perWorker = new Map<number, WorkerCounts>();
    for (const room of this.#rooms.values()) {
      for (const [pid, counts] of room.countsByWorker()) {
        const worker = perWorker.get(pid) ?? { transports: 0, consumers: 0 };
        worker.transports += counts.transports;
        worker.consumers += counts.consumers;
        perWorker.set(pid, worker);
      }
    }
    return perWorker;
  }

  /**
   * Stops taking new rooms (GetLoad and the Consul meta say so at once) while the calls here go
   * on; after `deadlineMs` the rooms still open end, so their participants rejoin on another
   * node by themselves. Resolves once no room is left, after deregistering from Consul. Calling
   * it again keeps the first deadline.
   */
  drain(deadlineMs: number): Promise<void> {
    if (!this.#drained) {
      this.#logger.info({ rooms: this.#rooms.size, deadlineMs }, 'draining: no new rooms');
      void this.#refreshLoad();
      this.#drained = new Promise<void>((resolve) => {
        this.#drainProgress = () => {
          if (this.#rooms.size === 0 && this.#roomsCreating.size === 0) {
            clearTimeout(this.#drainTimer);
            resolve();
          }
        };
        this.#drainTimer = setTimeout(() => {
          this.#logger.info({ rooms: this.#rooms.size }, 'drain deadline: ending the rooms left (they move)');
          for (const room of [...this.#rooms.values()]) {
            room.close();
          }
        }, deadlineMs);
        this.#drainProgress();
      }).then(async () => {
        this.#logger.info('drained: no rooms left');
        await this.#registration?.deregister();
      });
    }
    return this.#drained;
  }

  /** The Consul registration's meta: where /metrics is, and the load (refreshed every few seconds). */
  #meta(): Record<string, string> {
    const load = this.load();
    return {
      metrics_port: String(this.metricsPort),
      workers: String(load.workers.length),
      rooms: String(load.rooms),
      consumers: String(load.consumers),
      max_consumers: String(load.maxConsumers),
      accepting: String(load.accepting),
      draining: String(load.draining),
      cpu: Math.max(0, ...load.workers.map((w) => w.cpu)).toFixed(2),
    };
  }

  async #refreshLoad(): Promise<void> {
    try {
      await this.#workers.sampleCpu();
      await this.#registration?.updateMeta(this.#meta());
    } catch (error) {
      this.#logger.debug({ err: error }, 'could not refresh the load in consul');
    }
  }

  #registerGauges(): void {
    const rooms = this.#rooms;
    const gauge = (name: string, help: string, read: () => number) =>
      collectedGauge(this.#registry, name, help, read);
    gauge('switchboard_media_workers', 'mediasoup workers running on this node', () => this.#workers.size);
    gauge('switchboard_media_rooms', 'Rooms (routers) open on this node', () => rooms.size);
    gauge(
      'switchboard_media_transports',
      'WebRTC transports open on this node',
      () => this.load().transports,
    );
    gauge('switchboard_media_producers', 'Producers open on this node', () => this.load().producers);
    gauge('switchboard_media_consumers', 'Consumers open on this node', () => this.load().consumers);
  }

  async #getOrCreateRoom(roomId: string): Promise<Room> {
    const existing = this.#rooms.get(roomId);
    if (existing) {
      return existing;
    }
    let creating = this.#roomsCreating.get(roomId);
    if (!creating) {
      if (this.#drained) {
        throw new UnavailableError('this media node is draining: new rooms go to another node');
      }
      if (this.#rooms.size + this.#roomsCreating.size >= this.#config.maxRooms) {
        throw new AppError(
          'RESOURCE_EXHAUSTED',
          `this media node is full: at most ${this.#config.maxRooms} rooms; try again later`,
        );
      }
      creating = Room.create({
        id: roomId,
        workers: this.#workers,
        capacity: {
          maxConsumersPerWorker: this.#config.maxConsumersPerWorker,
          consumersByWorker: () =>
            new Map([...this.#countsByWorker()].map(([pid, counts]) => [pid, counts.consumers])),
        },
        listen: this.#config,
        logger: this.#logger,
      });
      this.#roomsCreating.set(roomId, creating);
      try {
        const room = await creating;
        this.#rooms.set(roomId, room);
        room.once('close', () => {
          this.#rooms.delete(roomId);
          this.#drainProgress?.();
        });
        return room;
      } finally {
        this.#roomsCreating.delete(roomId);
      }
    }
    return creating;
  }

  /** The RTP capabilities of this node's routers, without opening a room (read once). */
  #rtpCapabilities(): Promise<types.RtpCapabilities> {
    this.#capabilities ??= (async () => {
      const router = await this.#workers.createRouter(MEDIA_CODECS, { capabilitiesOnly: true });
      router.close();
      return router.rtpCapabilities;
    })();
    this.#capabilities.catch(() => (this.#capabilities = undefined));
    return this.#capabilities;
  }

  #room(roomId: string): Room {
    const room = this.#rooms.get(requireId(roomId, 'room_id'));
    if (!room) {
      throw new NotFoundError(`room ${roomId} not found on this media node`);
    }
    return room;
  }

  /** Wraps a handler: correlation id, logging, metrics, draining and error mapping. */
  #unary<Req, Res>(
    method: string,
    handler: (request: Req, ctx: CallContext) => Promise<Res> | Res,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const correlationId = String(call.metadata.get(CORRELATION_ID_METADATA)[0] ?? '') || 'none';
      const request = call.request as Req & { roomId?: string; peerId?: string };
      const peerId = request.peerId || String(call.metadata.get(PEER_ID_METADATA)[0] ?? '') || undefined;
      const fields = { correlationId, roomId: request.roomId || undefined, peerId, rpc: method };
      // The call's own logger, made only when its handler logs (most never do): the request line
      // takes the fields as they are, cheaper than a child logger per call.
      let logger: Logger | undefined;
      const base = this.#logger;
      const ctx: CallContext = {
        correlationId,
        get logger() {
          return (logger ??= base.child(fields));
        },
      };
      void (async () => {
        const outcome = await timedRequest(
          method,
          base,
          async () => {
            await this.#authenticate(call.metadata);
            if (this.#shuttingDown) {
              throw new UnavailableError('media node is shutting down');
            }
            return handler(call.request, ctx);
          },
          { fields },
        );
        if (outcome.ok) {
          this.#grpcDuration.observe({ method, code: 'OK' }, outcome.seconds);
          callback(null, outcome.value);
        } else {
          this.#grpcDuration.observe({ method, code: outcome.error.code }, outcome.seconds);
          callback(toGrpcError(outcome.error) as grpc.ServiceError);
        }
      })();
    };
  }

  #handlers(): MediaServiceServer {
    return {
      getRouterRtpCapabilities: this.#unary('GetRouterRtpCapabilities', async (req) => {
        const room = await this.#getOrCreateRoom(requireId(req.roomId, 'room_id'));
        let answer = this.#capabilityAnswers.get(room);
        if (!answer) {
          // A router's capabilities never change: the same frozen answer every time.
          answer = deepFreeze({
            rtpCapabilities: rtpCapabilitiesToProto(
              room.rtpCapabilities as Parameters<typeof rtpCapabilitiesToProto>[0],
            ),
          });
          this.#capabilityAnswers.set(room, answer);
        }
        return answer;
      }),
      getRtpCapabilities: this.#unary('GetRtpCapabilities', async () => ({
        rtpCapabilities: rtpCapabilitiesToProto(
          (await this.#rtpCapabilities()) as Parameters<typeof rtpCapabilitiesToProto>[0],
        ),
      })),
      createWebRtcTransport: this.#unary('CreateWebRtcTransport', async (req, { logger }) => {
        const room = this.#room(req.roomId);
        const transport = await room.createWebRtcTransport(
          requireId(req.peerId, 'peer_id'),
          req.producing,
          req.sctp,
        );
        logger.info(
          { transportId: transport.id, producing: req.producing, sctp: req.sctp },
          'transport created',
        );
        const sctp = transport.sctpParameters;
        return {
          transportId: transport.id,
          iceParameters: iceParametersToProto(transport.iceParameters),
          iceCandidates: transport.iceCandidates.map((candidate) => iceCandidateToProto(candidate)),
          dtlsParameters: {
            role: transport.dtlsParameters.role ?? 'auto',
            fingerprints: transport.dtlsParameters.fingerprints.map((fp) => ({ ...fp })),
          },
          sctpParameters: sctp && {
            port: sctp.port,
            os: sctp.OS,
            mis: sctp.MIS,
            maxMessageSize: sctp.maxMessageSize,
          },
        };
      }),
      consumeRoomData: this.#unary('ConsumeRoomData', async (req) => {
        const consumer = await this.#room(req.roomId).consumeRoomData(
          requireId(req.transportId, 'transport_id'),
        );
        return {
          dataConsumerId: consumer.id,
          dataProducerId: consumer.dataProducerId,
          streamId: consumer.sctpStreamParameters?.streamId ?? 0,
          label: consumer.label,
        };
      }),
      connectWebRtcTransport: this.#unary('ConnectWebRtcTransport', async (req) => {
        const room = this.#room(req.roomId);
        if (!req.dtlsParameters || req.dtlsParameters.fingerprints.length === 0) {
          throw new InvalidArgumentError('dtls_parameters with at least one fingerprint is required');
        }
        await room.connectWebRtcTransport(
          requireId(req.transportId, 'transport_id'),
          dtlsParametersFromProto(req.dtlsParameters) as types.DtlsParameters,
        );
        return {};
      }),
      restartIce: this.#unary('RestartIce', async (req) => {
        const room = this.#room(req.roomId);
        const iceParameters = await room.restartIce(requireId(req.transportId, 'transport_id'));
        return { iceParameters: iceParametersToProto(iceParameters) };
      }),
      closeWebRtcTransport: this.#unary('CloseWebRtcTransport', (req) => {
        this.#room(req.roomId).closeWebRtcTransport(requireId(req.transportId, 'transport_id'));
        return {};
      }),
      produce: this.#unary('Produce', async (req) => {
        const room = this.#room(req.roomId);
        const { kind, rtpParameters } = requireMedia(req);
        const producer = await room.produce({
          transportId: requireId(req.transportId, 'transport_id'),
          kind,
          rtpParameters,
          paused: req.paused,
        });
        return { producerId: producer.id };
      }),
      closeProducer: this.#unary('CloseProducer', (req) => {
        this.#room(req.roomId).closeProducer(requireId(req.producerId, 'producer_id'));
        return {};
      }),
      pauseProducer: this.#unary('PauseProducer', async (req) => {
        await this.#room(req.roomId).setProducerPaused(requireId(req.producerId, 'producer_id'), true);
        return {};
      }),
      resumeProducer: this.#unary('ResumeProducer', async (req) => {
        await this.#room(req.roomId).setProducerPaused(requireId(req.producerId, 'producer_id'), false);
        return {};
      }),
      consume: this.#unary('Consume', async (req) => {
        const room = this.#room(req.roomId);
        if (!req.rtpCapabilities || req.rtpCapabilities.codecs.length === 0) {
          throw new InvalidArgumentError('rtp_capabilities with at least one codec is required');
        }
        const consumer = await room.consume({
          transportId: requireId(req.transportId, 'transport_id'),
          producerId: requireId(req.producerId, 'producer_id'),
          rtpCapabilities: rtpCapabilitiesFromProto(req.rtpCapabilities) as types.RtpCapabilities,
        });
        return {
          consumerId: consumer.id,
          producerId: consumer.producerId,
          kind: mediaKindToProto(consumer.kind),
          rtpParameters: rtpParametersToProto(
            consumer.rtpParameters as Parameters<typeof rtpParametersToProto>[0],
          ),
          producerPaused: consumer.producerPaused,
        };
      }),
      resumeConsumer: this.#unary('ResumeConsumer', async (req) => {
        await this.#room(req.roomId).setConsumerPaused(requireId(req.consumerId, 'consumer_id'), false);
        return {};
      }),
      pauseConsumer: this.#unary('PauseConsumer', async (req) => {
        await this.#room(req.roomId).setConsumerPaused(requireId(req.consumerId, 'consumer_id'), true);
        return {};
      }),
      setConsumerPreferredLayers: this.#unary('SetConsumerPreferredLayers', async (req) => {
        const room = this.#room(req.roomId);
        if (req.spatialLayer > MAX_LAYER || (req.temporalLayer ?? 0) > MAX_LAYER) {
          throw new InvalidArgumentError(`layers go from 0 to ${MAX_LAYER}`);
        }
        await room.setConsumerPreferredLayers(requireId(req.consumerId, 'consumer_id'), {
          spatialLayer: req.spatialLayer,
          temporalLayer: req.temporalLayer,
        });
        return {};
      }),
      getLoad: this.#unary('GetLoad', () => this.load()),
      drain: this.#unary('Drain', (req) => {
        void this.drain(req.deadlineSeconds * 1000);
        return { rooms: this.#rooms.size };
      }),
      getPeerStats: this.#unary('GetPeerStats', async (req) =>
        peerStatsToProto(await this.#room(req.roomId).peerStats(requireId(req.peerId, 'peer_id'))),
      ),
      createPipeTransport: this.#unary('CreatePipeTransport', async (req) => {
        const room = this.#room(req.roomId);
        const transport = await room.createPipeTransport(requireId(req.remoteNode, 'remote_node'));
        return {
          transportId: transport.id,
          ip: transport.tuple.localAddress ?? transport.tuple.localIp,
          port: transport.tuple.localPort,
          srtpParameters: transport.srtpParameters,
        };
      }),
      connectPipeTransport: this.#unary('ConnectPipeTransport', async (req) => {
        const room = this.#room(req.roomId);
        if (!isIP(req.ip) || req.port < 1 || req.port > 65535) {
          throw new InvalidArgumentError('ip must be an IPv4 or IPv6 address and port 1-65535');
        }
        const srtp = req.srtpParameters;
        if (
          !srtp ||
          !SRTP_SUITES.has(srtp.cryptoSuite) ||
          !/^[A-Za-z0-9+/]{16,128}={0,2}$/.test(srtp.keyBase64)
        ) {
          throw new InvalidArgumentError(
            `srtp_parameters (the other end's) with crypto_suite one of ${[...SRTP_SUITES].join(', ')} and a base64 key are required`,
          );
        }
        await room.connectPipeTransport(requireId(req.remoteNode, 'remote_node'), req.ip, req.port, {
          cryptoSuite: srtp.cryptoSuite as types.SrtpCryptoSuite,
          keyBase64: srtp.keyBase64,
        });
        return {};
      }),
      consumeForPipe: this.#unary('ConsumeForPipe', async (req) => {
        const piped = await this.#room(req.roomId).consumeForPipe(
          requireId(req.remoteNode, 'remote_node'),
          requireId(req.producerId, 'producer_id'),
        );
        return {
          kind: mediaKindToProto(piped.kind),
          rtpParameters: rtpParametersToProto(
            piped.rtpParameters as Parameters<typeof rtpParametersToProto>[0],
          ),
          producerPaused: piped.producerPaused,
          peerId: piped.peerId,
        };
      }),
      produceFromPipe: this.#unary('ProduceFromPipe', async (req) => {
        const room = this.#room(req.roomId);
        const { kind, rtpParameters } = requireMedia(req);
        await room.produceFromPipe({
          remoteNode: requireId(req.remoteNode, 'remote_node'),
          producerId: requireId(req.producerId, 'producer_id'),
          peerId: requireId(req.peerId, 'peer_id'),
          kind,
          rtpParameters,
          paused: req.paused,
        });
        return {};
      }),
      closePipeTransport: this.#unary('ClosePipeTransport', async (req) => {
        await this.#rooms
          .get(requireId(req.roomId, 'room_id'))
          ?.closePipeTransport(requireId(req.remoteNode, 'remote_node'));
        return {};
      }),
      leaveRoom: this.#unary('LeaveRoom', (req) => {
        const room = this.#rooms.get(requireId(req.roomId, 'room_id'));
        room?.leave(requireId(req.peerId, 'peer_id'));
        return {};
      }),
      closeRoom: this.#unary('CloseRoom', (req) => {
        this.#rooms.get(requireId(req.roomId, 'room_id'))?.close();
        return {};
      }),
      watchRoomEvents: (call: grpc.ServerWritableStream<WatchRoomEventsRequest, WatchRoomEventsResponse>) => {
        void this.#authenticate(call.metadata).then(
          () => {
            if (!call.cancelled) {
              this.#watchRoomEvents(call);
            }
          },
          (error: unknown) => failStream(call, error),
        );
      },
    };
  }

  /** Rejects with UNAUTHENTICATED unless the call carries a valid service token. */
  async #authenticate(metadata: grpc.Metadata): Promise<void> {
    await this.#callers.verify(metadata.get(AUTHORIZATION_METADATA)[0]);
  }

  /** Streams one room's events to an authenticated caller until the room or the call ends. */
  #watchRoomEvents(call: grpc.ServerWritableStream<WatchRoomEventsRequest, WatchRoomEventsResponse>): void {
    let room: Room;
    try {
      room = this.#room(call.request.roomId);
    } catch (error) {
      failStream(call, error);
      return;
    }
    const onEvent = (event: RoomEvent) => call.write(toProtoEvent(room.id, event));
    const onClose = () => call.end();
    room.on('event', onEvent);
    room.once('close', onClose);
    const speaker = room.activeSpeaker;
    if (speaker) {
      onEvent(speaker);
    }
    call.on('cancelled', () => {
      room.off('event', onEvent);
      room.off('close', onClose);
    });
    call.on('close', () => {
      room.off('event', onEvent);
      room.off('close', onClose);
    });
  }

  /**
   * Drains (no new rooms; calls go on for MEDIA_DRAIN_SECONDS, then move; deregisters when
   * empty), then closes gRPC, rooms and workers. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.drain(this.#config.drainMs);
    this.#shuttingDown = true;
    clearInterval(this.#loadTimer);
    this.setServing(false);
    await this.#registration?.deregister();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#grpcServer.forceShutdown();
        resolve();
      }, 3000);
      // Open event streams keep tryShutdown waiting; rooms closing below ends them.
      for (const room of this.#rooms.values()) {
        room.close();
      }
      this.#grpcServer.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#workers.close();
    await new Promise<void>((resolve) => this.#metricsServer.close(() => resolve()));
    this.#logger.info('media node closed');
  }
}
