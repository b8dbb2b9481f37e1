/**
 * One conference room on this node: a mediasoup router and the transports, producers and
 * consumers of its peers. Things that happen without a request (a consumer closing because its
 * producer went away, a transport's DTLS failing) are emitted as `event`s for WatchRoomEvents.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { AppError, InvalidArgumentError, NotFoundError } from '@switchboard/errors';
import { startOnce } from '@switchboard/runtime';
import type { Logger } from '@switchboard/logger';
import { MEDIA_CODECS } from './mediaCodecs';
import type { WorkerPool } from './WorkerPool';

export type RoomEvent =
  | { type: 'producerClosed'; producerId: string; peerId: string; reason: string }
  | { type: 'consumerClosed'; consumerId: string; peerId: string; producerId: string; reason: string }
  | { type: 'transportClosed'; transportId: string; peerId: string; reason: string }
  | { type: 'producerPaused'; producerId: string; peerId: string; paused: boolean }
  | { type: 'activeSpeaker'; producerId: string; peerId: string }
  | { type: 'audioLevels'; levels: AudioLevel[] };

export interface AudioLevel {
  producerId: string;
  peerId: string;
  /** dBov: -127 (silence) to 0. */
  volume: number;
}

/** Everything a peer has in the room, measured (GetPeerStats). */
export interface PeerStats {
  transports: (types.WebRtcTransportStat & { producing: boolean })[];
  producers: { producer: types.Producer<PeerOwned>; streams: types.ProducerStat[] }[];
  consumers: {
    consumer: types.Consumer<PeerOwned>;
    producerPeerId: string;
    stream?: types.ConsumerStat;
  }[];
}

interface RoomEvents {
  event: [RoomEvent];
  close: [];
}

export interface TransportListenOptions {
  listenIp: string;
  announcedAddress?: string;
  /**
   * The port range transports take their ports from: pipe transports to other media nodes always,
   * WebRTC transports when the workers have no WebRTC server (MEDIA_WEBRTC_SERVER off).
   */
  pipeMinPort: number;
  pipeMaxPort: number;
  /** Transports the room may hold at once (counted with those being created). */
  maxTransportsPerRoom: number;
}

type PeerOwned = {
  peerId: string;
  /** A copy of a producer of another node, piped in (its peer is on that node). */
  piped?: boolean;
  /** The worker a consumer is on. */
  workerPid?: number;
};

/** A pipe transport towards another node of the room, and where it was told to send. */
interface Pipe {
  transport: types.PipeTransport;
  connecting?: { ip: string; port: number; done: Promise<void> };
}

/** What the other end needs to produce a piped producer (ConsumeForPipe). */
export interface PipedProducer {
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
  producerPaused: boolean;
  peerId: string;
}

type TransportOwned = PeerOwned & { producing: boolean; workerPid: number };

/** How full each worker of the node is (a room spreads to another worker when its own are full). */
export interface WorkerCapacity {
  /** Consumers a worker may hold (MEDIA_MAX_CONSUMERS_PER_WORKER). */
  maxConsumersPerWorker: number;
  /** Consumers on each worker now (by pid), across every room of the node. */
  consumersByWorker(): Map<number, number>;
}

/** How often the audio observers report (ms) and the level below which a producer is silent. */
const AUDIO_LEVEL_INTERVAL_MS = 400;
const AUDIO_LEVEL_THRESHOLD_DBOV = -60;
const ACTIVE_SPEAKER_INTERVAL_MS = 300;

export interface RoomOptions {
  id: string;
  workers: WorkerPool;
  capacity: WorkerCapacity;
  listen: TransportListenOptions;
  logger: Logger;
}

export interface WorkerCounts {
  transports: number;
  consumers: number;
}

/** SCTP streams of a transport made with data channels (mediasoup's defaults). */
const SCTP_STREAMS = { OS: 1024, MIS: 1024 };

/** The pid of the worker a router runs on (recorded by WorkerPool). */
const pidOf = (router: types.Router) => Number(router.appData.workerPid ?? 0);

export class Room extends EventEmitter<RoomEvents> {
  readonly id: string;
  /** The room's first router: its audio observers, and its pipes to other nodes, are there. */
  readonly #router: types.Router;
  /** Every router of the room (the first, then those on other workers it spread to). */
  readonly #routers: types.Router[];
  readonly #workers: WorkerPool;
  readonly #capacity: WorkerCapacity;
  /** The router each peer's transports are on, and each producer's (own or piped in) router. */
  readonly #peerRouters = new Map<string, types.Router>();
  readonly #producerRouters = new Map<string, types.Router>();
  /** Producers piped from their router to another of the room's routers: `producerId|routerId`. */
  readonly #workerPipes = new Map<string, Promise<void>>();
  /** Each router's own data producer (on a direct transport), by router id: see `consumeRoomData`. */
  readonly #roomData = new Map<string, Promise<types.DataProducer>>();
  #spreading?: Promise<types.Router>;
  readonly #listen: TransportListenOptions;
  readonly #logger: Logger;
  readonly #transports = new Map<string, types.WebRtcTransport<TransportOwned>>();
  readonly #producers = new Map<string, types.Producer<PeerOwned>>();
  readonly #consumers = new Map<string, types.Consumer<PeerOwned>>();
  /** `peerId|producerId` of every consumer, and of those being created (one per pair). */
  readonly #consumerKeys = new Set<string>();
  /** Pipe transports by the node at the other end, and the consumers piping producers there. */
  readonly #pipes = new Map<string, Promise<Pipe>>();
  readonly #pipeConsumers = new Map<string, Promise<types.Consumer>>();
  /** Piped producers being created, by id (a second request waits for the first). */
  readonly #pipedProducers = new Map<string, Promise<unknown>>();
  readonly #levels: types.AudioLevelObserver;
  readonly #speaker: types.ActiveSpeakerObserver;
  #activeSpeaker?: Extract<RoomEvent, { type: 'activeSpeaker' }>;
  /** Transports being created (reserved against the cap before awaiting the worker). */
  #creatingTransports = 0;
  #closed = false;

  private constructor(
    opts: RoomOptions,
    router: types.Router,
    observers: { levels: types.AudioLevelObserver; speaker: types.ActiveSpeakerObserver },
    logger: Logger,
  ) {
    super();
    this.id = opts.id;
    this.#router = router;
    this.#routers = [router];
    this.#workers = opts.workers;
    this.#capacity = opts.capacity;
    this.#listen = opts.listen;
    this.#logger = logger;
    this.#levels = observers.levels;
    this.#speaker = observers.speaker;
    router.observer.once('close', () => this.close());
    this.#levels.on('volumes', (volumes) =>
      this.emit('event', {
        type: 'audioLevels',
        levels: volumes.map(({ producer, volume }) => ({
          producerId: producer.id,
          peerId: (producer.appData as PeerOwned).peerId,
          volume,
        })),
      }),
    );
    this.#levels.on('silence', () => this.emit('event', { type: 'audioLevels', levels: [] }));
    this.#speaker.on('dominantspeaker', ({ producer }) => {
      this.#activeSpeaker = {
        type: 'activeSpeaker',
        producerId: producer.id,
        peerId: (producer.appData as PeerOwned).peerId,
      };
      this.emit('event', this.#activeSpeaker);
    });
  }

  static async create(opts: RoomOptions): Promise<Room> {
    const router = await opts.workers.createRouter(MEDIA_CODECS, { roomId: opts.id });
    const logger = opts.logger.child({ roomId: opts.id });
    try {
      const observers = {
        levels: await router.createAudioLevelObserver({
          maxEntries: 16,
          threshold: AUDIO_LEVEL_THRESHOLD_DBOV,
          interval: AUDIO_LEVEL_INTERVAL_MS,
        }),
        speaker: await router.createActiveSpeakerObserver({ interval: ACTIVE_SPEAKER_INTERVAL_MS }),
      };
      logger.info({ routerId: router.id }, 'room created');
      return new Room(opts, router, observers, logger);
    } catch (error) {
      router.close();
      throw error;
    }
  }

  /** The pid of the mediasoup worker this room's first router runs on. */
  get workerPid(): number {
    return pidOf(this.#router);
  }

  /** The pids of the workers the room's routers run on (the first router's first). */
  get workerPids(): number[] {
    return this.#routers.filter((r) => !r.closed).map(pidOf);
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.#router.rtpCapabilities;
  }

  /** The latest active-speaker event while its producer is open (a new watcher starts with it). */
  get activeSpeaker(): RoomEvent | undefined {
    const current = this.#activeSpeaker;
    return current && this.#producers.has(current.producerId) ? current : undefined;
  }

  /** Producers in the room: its peers' own and those piped in from other nodes. */
  get producerCount(): number {
    return this.#producers.size;
  }

  /**
   * Transports and flowing consumers on each worker the room uses. A pipe consumer (towards
   * another node or another worker) forwards a stream like any other: it counts against capacity.
   */
  countsByWorker(): Map<number, WorkerCounts> {
    const byWorker = new Map<number, WorkerCounts>(
      this.workerPids.map((pid) => [pid, { transports: 0, consumers: 0 }]),
    );
    const add = (pid: number, key: 'transports' | 'consumers') => {
      const counts = byWorker.get(pid);
      if (counts) {
        counts[key]++;
      }
    };
    for (const transport of this.#transports.values()) {
      add(transport.appData.workerPid, 'transports');
    }
    for (const consumer of this.#consumers.values()) {
      // Capacity counts what flows: a paused consumer (or one of a paused producer) forwards
      // nothing, so a peer holding many paused ones cannot make the node refuse meetings.
      if (!consumer.paused && !consumer.producerPaused) {
        add(consumer.appData.workerPid ?? 0, 'consumers');
      }
    }
    // Pipes to other nodes are on the first router.
    const first = byWorker.get(this.workerPid);
    if (first) {
      first.consumers += this.#pipeConsumers.size;
    }
    for (const key of this.#workerPipes.keys()) {
      const router = this.#producerRouters.get(key.split('|')[0]);
      if (router) {
        add(pidOf(router), 'consumers');
      }
    }
    return byWorker;
  }

  /**
   * The router a peer's transports go on: the one its first transport is on; for a newcomer, a
   * router of the room whose worker is below capacity, else a new router on a worker that is
   * (the room spreads; producers are piped between its routers), else the first router.
   */
  async #routerFor(peerId: string): Promise<types.Router> {
    const existing = this.#peerRouters.get(peerId);
    if (existing && !existing.closed) {
      return existing;
    }
    const consumers = this.#capacity.consumersByWorker();
    const roomy = (pid: number) => (consumers.get(pid) ?? 0) < this.#capacity.maxConsumersPerWorker;
    let router = this.#routers.find((r) => !r.closed && roomy(pidOf(r)));
    if (!router) {
      const used = new Set(this.workerPids);
      const free = this.#workers.workers.filter(
        (w) => !w.died && !w.closed && !used.has(w.pid) && roomy(w.pid),
      );
      router = free.length > 0 ? await this.#spread(new Set(free.map((w) => w.pid))) : this.#router;
    }
    this.#peerRouters.set(peerId, router);
    return router;
  }

  /** A new router for the room on one of `pids` (one at a time: newcomers meanwhile share it). */
  #spread(pids: Set<number>): Promise<types.Router> {
    this.#spreading ??= (async () => {
      try {
        const router = await this.#workers.createRouter(MEDIA_CODECS, { roomId: this.id }, (worker) =>
          pids.has(worker.pid),
        );
        this.#routers.push(router);
        // Losing any worker of the room ends the room (its people rejoin), as with one router.
        router.observer.once('close', () => this.close());
        this.#logger.info(
          { routerId: router.id, workerPid: pidOf(router), routers: this.#routers.length },
          "the room's workers are full: it spreads to another worker",
        );
        return router;
      } finally {
        this.#spreading = undefined;
      }
    })();
    return this.#spreading;
  }

  /** The room's router on a worker (a room has at most one per worker). */
  #routerOn(workerPid: number): types.Router {
    return this.#routers.find((r) => pidOf(r) === workerPid && !r.closed) ?? this.#router;
  }

  /** Makes a producer of another of the room's routers consumable on `to` (pipeToRouter, once). */
  async #pipeWithin(producerId: string, to: types.Router): Promise<void> {
    const from = this.#producerRouters.get(producerId);
    if (!from || from === to) {
      return;
    }
    const key = `${producerId}|${to.id}`;
    const piping = startOnce(this.#workerPipes, key, async () => {
      const { pipeConsumer } = await from.pipeToRouter({ producerId, router: to });
      pipeConsumer?.observer.once('close', () => this.#workerPipes.delete(key));
    });
    try {
      await piping;
    } catch (error) {
      throw this.#mediasoupError(error, 'pipe to router');
    }
  }

  async createWebRtcTransport(
    peerId: string,
    producing: boolean,
    sctp = false,
  ): Promise<types.WebRtcTransport<TransportOwned>> {
    const { maxTransportsPerRoom } = this.#listen;
    if (this.#transports.size + this.#creatingTransports >= maxTransportsPerRoom) {
      throw new AppError(
        'RESOURCE_EXHAUSTED',
        `room ${this.id} is full: at most ${maxTransportsPerRoom} transports per room on this node`,
      );
    }
    this.#creatingTransports++;
    let transport: types.WebRtcTransport<TransportOwned>;
    try {
      const router = await this.#routerFor(peerId);
      // With WebRTC servers every transport of a worker shares its one UDP and one TCP port;
      // without, each takes its own from the node's range.
      const webRtcServer = this.#workers.webRtcServer(pidOf(router));
      const portRange = { min: this.#listen.pipeMinPort, max: this.#listen.pipeMaxPort };
      const { listenIp: ip, announcedAddress } = this.#listen;
      const listen = webRtcServer
        ? { webRtcServer }
        : {
            listenInfos: [
              { protocol: 'udp' as const, ip, announcedAddress, portRange },
              { protocol: 'tcp' as const, ip, announcedAddress, portRange },
            ],
          };
      transport = await router.createWebRtcTransport<TransportOwned>({
        ...listen,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: 1_000_000,
        ...(sctp ? { enableSctp: true, numSctpStreams: SCTP_STREAMS } : {}),
        appData: { peerId, producing, workerPid: pidOf(router) },
      });
    } finally {
      this.#creatingTransports--;
    }
    const logger = this.#logger.child({ peerId, transportId: transport.id });
    this.#transports.set(transport.id, transport);
    // When the browser's media path comes up (operators read the time it took from these).
    const createdAt = Date.now();
    transport.on('icestatechange', (state) => {
      logger.info({ iceState: state, ms: Date.now() - createdAt }, 'transport ice state');
    });
    transport.on('dtlsstatechange', (state) => {
      logger.info({ dtlsState: state, ms: Date.now() - createdAt }, 'transport dtls state');
      if (state === 'failed' || state === 'closed') {
        logger.warn({ dtlsState: state }, 'transport dtls state ended; closing transport');
        this.#closeTransport(transport, `dtls_${state}`);
      }
    });
    transport.observer.once('close', () => this.#transports.delete(transport.id));
    logger.debug({ producing }, 'transport created');
    return transport;
  }

  async connectWebRtcTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    const transport = this.#transport(transportId);
    try {
      await transport.connect({ dtlsParameters });
    } catch (error) {
      throw this.#mediasoupError(error, 'connect transport');
    }
  }

  /** New ICE parameters for the transport (its ICE restarts; DTLS and its producers/consumers stay). */
  async restartIce(transportId: string): Promise<types.IceParameters> {
    const transport = this.#transport(transportId);
    try {
      return await transport.restartIce();
    } catch (error) {
      throw this.#mediasoupError(error, 'restart ICE');
    }
  }

  /**
   * A data consumer, on a transport made with SCTP, of its router's own data producer (made once
   * per router on a direct transport, and never sent on): it gives a browser something to receive,
   * so that its receiving transport connects (ICE, DTLS, SCTP) before there is any media for it.
   */
  async consumeRoomData(transportId: string): Promise<types.DataConsumer> {
    const transport = this.#transport(transportId);
    if (!transport.sctpParameters) {
      throw new AppError('FAILED_PRECONDITION', `transport ${transportId} was made without SCTP`);
    }
    const router = this.#routerOn(transport.appData.workerPid);
    try {
      const producer = await startOnce(this.#roomData, router.id, async () => {
        const direct = await router.createDirectTransport();
        return direct.produceData({ label: 'room' });
      });
      return await transport.consumeData({ dataProducerId: producer.id });
    } catch (error) {
      throw this.#mediasoupError(error, 'consume room data');
    }
  }

  closeWebRtcTransport(transportId: string): void {
    this.#closeTransport(this.#transport(transportId), 'requested');
  }

  async produce(opts: {
    transportId: string;
    kind: types.MediaKind;
    rtpParameters: types.RtpParameters;
    paused: boolean;
  }): Promise<types.Producer<PeerOwned>> {
    const transport = this.#transport(opts.transportId);
    const peerId = transport.appData.peerId;
    let producer: types.Producer<PeerOwned>;
    try {
      producer = await transport.produce<PeerOwned>({
        kind: opts.kind,
        rtpParameters: opts.rtpParameters,
        paused: opts.paused,
        appData: { peerId },
      });
    } catch (error) {
      throw this.#mediasoupError(error, 'produce');
    }
    producer.on('transportclose', () =>
      this.emit('event', {
        type: 'producerClosed',
        producerId: producer.id,
        peerId,
        reason: 'transport_closed',
      }),
    );
    await this.#addProducer(producer, this.#routerOn(transport.appData.workerPid));
    this.#logger.info(
      { peerId, producerId: producer.id, kind: producer.kind, type: producer.type },
      'producer created',
    );
    return producer;
  }

  /** Keeps a producer (own or piped in) until it closes; an audio one feeds the level observers. */
  async #addProducer(producer: types.Producer<PeerOwned>, router: types.Router): Promise<void> {
    const peerId = producer.appData.peerId;
    const forget = () => {
      this.#producers.delete(producer.id);
      this.#producerRouters.delete(producer.id);
    };
    this.#producers.set(producer.id, producer);
    this.#producerRouters.set(producer.id, router);
    producer.on('transportclose', forget);
    producer.observer.once('close', forget);
    if (producer.kind === 'audio') {
      // Removed from the observers by mediasoup when the producer closes; the observers are on the
      // first router (an audio producer of another worker is piped there). Levels are a nicety:
      // a failure here (the producer closed meanwhile) does not fail the produce.
      await this.#pipeWithin(producer.id, this.#router)
        .then(() =>
          Promise.all([
            this.#levels.addProducer({ producerId: producer.id }),
            this.#speaker.addProducer({ producerId: producer.id }),
          ]),
        )
        .catch((error: unknown) =>
          this.#logger.warn(
            { err: error, peerId, producerId: producer.id },
            'audio observers could not add the producer',
          ),
        );
    }
  }

  /** The room's pipe transport towards `remoteNode`, created once (SRTP with NACK/RTX). */
  async createPipeTransport(remoteNode: string): Promise<types.PipeTransport> {
    const { listenIp, announcedAddress, pipeMinPort, pipeMaxPort } = this.#listen;
    const pipe = startOnce(this.#pipes, remoteNode, async () => {
      const transport = await this.#router.createPipeTransport({
        listenInfo: {
          protocol: 'udp',
          ip: listenIp,
          announcedAddress,
          portRange: { min: pipeMinPort, max: pipeMaxPort },
        },
        enableRtx: true,
        // Nodes may talk across networks nobody vouches for: media between them is encrypted.
        enableSrtp: true,
        appData: { remoteNode },
      });
      transport.observer.once('close', () => {
        this.#pipes.delete(remoteNode);
        this.#logger.info({ remoteNode }, 'pipe transport closed');
      });
      this.#logger.info({ remoteNode, transportId: transport.id }, 'pipe transport created');
      return { transport };
    });
    try {
      return (await pipe).transport;
    } catch (error) {
      throw this.#mediasoupError(error, 'create pipe transport');
    }
  }

  /**
   * Sends the pipe towards `remoteNode` to `ip:port`, encrypted with the other end's key; again
   * with the same address is a no-op.
   */
  async connectPipeTransport(
    remoteNode: string,
    ip: string,
    port: number,
    srtpParameters: types.SrtpParameters,
  ): Promise<void> {
    const pipe = await this.#pipe(remoteNode);
    if (pipe.connecting) {
      if (pipe.connecting.ip !== ip || pipe.connecting.port !== port) {
        throw new AppError(
          'FAILED_PRECONDITION',
          `the pipe to ${remoteNode} is already connected to ${pipe.connecting.ip}:${pipe.connecting.port}`,
        );
      }
      return pipe.connecting.done;
    }
    const done = pipe.transport.connect({ ip, port, srtpParameters }).catch((error: unknown) => {
      pipe.connecting = undefined;
      throw this.#mediasoupError(error, 'connect pipe transport');
    });
    pipe.connecting = { ip, port, done };
    return done;
  }

  /** Source side: a consumer of one of this node's producers on the pipe towards `remoteNode`. */
  async consumeForPipe(remoteNode: string, producerId: string): Promise<PipedProducer> {
    const producer = this.#producer(producerId);
    const key = `${remoteNode}|${producerId}`;
    const consuming = startOnce(this.#pipeConsumers, key, async () => {
      const { transport } = await this.#pipe(remoteNode);
      const consumer = await transport.consume({ producerId, appData: { remoteNode } });
      consumer.observer.once('close', () => this.#pipeConsumers.delete(key));
      return consumer;
    });
    let consumer: types.Consumer;
    try {
      consumer = await consuming;
    } catch (error) {
      throw error instanceof AppError ? error : this.#mediasoupError(error, 'consume for pipe');
    }
    return {
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
      producerPaused: consumer.producerPaused,
      peerId: producer.appData.peerId,
    };
  }

  /**
   * Destination side: the producer of another node, under its own id, from the pipe with that
   * node. Closes with the pipe, without a producerClosed event (its own node reports that).
   */
  async produceFromPipe(opts: {
    remoteNode: string;
    producerId: string;
    peerId: string;
    kind: types.MediaKind;
    rtpParameters: types.RtpParameters;
    paused: boolean;
  }): Promise<void> {
    if (this.#producers.has(opts.producerId)) {
      return;
    }
    let creating = this.#pipedProducers.get(opts.producerId);
    if (!creating) {
      creating = (async () => {
        const { transport } = await this.#pipe(opts.remoteNode);
        const producer = await transport.produce<PeerOwned>({
          id: opts.producerId,
          kind: opts.kind,
          rtpParameters: opts.rtpParameters,
          paused: opts.paused,
          appData: { peerId: opts.peerId, piped: true },
        });
        await this.#addProducer(producer, this.#router);
        this.#logger.info(
          { peerId: opts.peerId, producerId: producer.id, kind: producer.kind, remoteNode: opts.remoteNode },
          'producer piped in',
        );
      })();
      this.#pipedProducers.set(opts.producerId, creating);
      void creating.catch(() => {}).finally(() => this.#pipedProducers.delete(opts.producerId));
    }
    try {
      await creating;
    } catch (error) {
      throw error instanceof AppError ? error : this.#mediasoupError(error, 'produce from pipe');
    }
  }

  /** Closes the pipe towards `remoteNode`: what was piped in from it closes, and its consumers. */
  async closePipeTransport(remoteNode: string): Promise<void> {
    const pipe = await this.#pipes.get(remoteNode)?.catch(() => undefined);
    pipe?.transport.close();
  }

  async #pipe(remoteNode: string): Promise<Pipe> {
    const pipe = await this.#pipes.get(remoteNode)?.catch(() => undefined);
    if (!pipe || pipe.transport.closed) {
      throw new NotFoundError(`no pipe transport towards ${remoteNode} in room ${this.id}`);
    }
    return pipe;
  }

  closeProducer(producerId: string): void {
    const producer = this.#producer(producerId);
    producer.close();
    this.#producers.delete(producerId);
    this.#logger.info({ peerId: producer.appData.peerId, producerId }, 'producer closed');
  }

  async setProducerPaused(producerId: string, paused: boolean): Promise<void> {
    const producer = this.#producer(producerId);
    if (paused) {
      await producer.pause();
    } else {
      await producer.resume();
    }
    this.emit('event', { type: 'producerPaused', producerId, peerId: producer.appData.peerId, paused });
  }

  /**
   * A consumer (paused) of a producer for the transport's peer: one per peer and producer, never
   * of the peer's own producer (both refused, so no peer can pile up consumers).
   */
  async consume(opts: {
    transportId: string;
    producerId: string;
    rtpCapabilities: types.RtpCapabilities;
  }): Promise<types.Consumer<PeerOwned>> {
    const transport = this.#transport(opts.transportId);
    const producer = this.#producer(opts.producerId);
    const peerId = transport.appData.peerId;
    if (producer.appData.peerId === peerId) {
      throw new AppError('FAILED_PRECONDITION', `producer ${producer.id} is peer ${peerId}'s own`);
    }
    const key = `${peerId}|${producer.id}`;
    if (this.#consumerKeys.has(key)) {
      throw new AppError('ALREADY_EXISTS', `peer ${peerId} already consumes producer ${producer.id}`);
    }
    // Held from here, before anything is awaited, so parallel requests cannot all pass the check.
    this.#consumerKeys.add(key);
    let consumer: types.Consumer<PeerOwned>;
    try {
      consumer = await this.#createConsumer(transport, producer, opts.rtpCapabilities);
    } catch (error) {
      this.#consumerKeys.delete(key);
      throw error;
    }
    consumer.observer.once('close', () => this.#consumerKeys.delete(key));
    return consumer;
  }

  async #createConsumer(
    transport: types.WebRtcTransport<TransportOwned>,
    producer: types.Producer<PeerOwned>,
    rtpCapabilities: types.RtpCapabilities,
  ): Promise<types.Consumer<PeerOwned>> {
    const { peerId, workerPid } = transport.appData;
    const router = this.#routerOn(workerPid);
    // A producer on another worker of the room is piped to this transport's router first.
    await this.#pipeWithin(producer.id, router);
    if (!router.canConsume({ producerId: producer.id, rtpCapabilities })) {
      throw new AppError(
        'FAILED_PRECONDITION',
        `peer ${peerId} cannot consume producer ${producer.id}: no common codec`,
      );
    }
    let consumer: types.Consumer<PeerOwned>;
    try {
      consumer = await transport.consume<PeerOwned>({
        producerId: producer.id,
        rtpCapabilities,
        paused: true,
        appData: { peerId, workerPid },
      });
    } catch (error) {
      throw this.#mediasoupError(error, 'consume');
    }
    this.#consumers.set(consumer.id, consumer);
    consumer.on('producerclose', () => {
      this.#consumers.delete(consumer.id);
      this.emit('event', {
        type: 'consumerClosed',
        consumerId: consumer.id,
        peerId,
        producerId: producer.id,
        reason: 'producer_closed',
      });
    });
    consumer.observer.once('close', () => this.#consumers.delete(consumer.id));
    return consumer;
  }

  async setConsumerPaused(consumerId: string, paused: boolean): Promise<void> {
    const consumer = this.#consumer(consumerId);
    if (paused) {
      await consumer.pause();
    } else {
      await consumer.resume();
    }
  }

  /**
   * The layers a simulcast/SVC consumer should receive (mediasoup forwards the best available at
   * or below them). A consumer of a single-layer producer has none: nothing to do.
   */
  async setConsumerPreferredLayers(
    consumerId: string,
    layers: { spatialLayer: number; temporalLayer?: number },
  ): Promise<void> {
    const consumer = this.#consumer(consumerId);
    if (consumer.type === 'simple' || consumer.type === 'pipe') {
      return;
    }
    await consumer.setPreferredLayers(layers);
  }

  /** What the peer's transports, producers and consumers measure now. */
  async peerStats(peerId: string): Promise<PeerStats> {
    const own = <T extends { appData: PeerOwned }>(items: Iterable<T>) =>
      [...items].filter((item) => item.appData.peerId === peerId);
    const [transports, producers, consumers] = await Promise.all([
      Promise.all(
        own(this.#transports.values()).map(async (transport) =>
          (await transport.getStats()).map((stat) => ({ ...stat, producing: transport.appData.producing })),
        ),
      ),
      Promise.all(
        own(this.#producers.values()).map(async (producer) => ({
          producer,
          streams: await producer.getStats(),
        })),
      ),
      Promise.all(
        own(this.#consumers.values()).map(async (consumer) => ({
          consumer,
          producerPeerId: this.#producers.get(consumer.producerId)?.appData.peerId ?? '',
          stream: (await consumer.getStats()).find((stat) => stat.type === 'outbound-rtp') as
            types.ConsumerStat | undefined,
        })),
      ),
    ]);
    return { transports: transports.flat(), producers, consumers };
  }

  /**
   * Closes every transport the peer owns (and so its producers and consumers) and the copies of
   * its producers piped in from its node.
   */
  leave(peerId: string): number {
    let closed = 0;
    for (const transport of [...this.#transports.values()]) {
      if (transport.appData.peerId === peerId) {
        this.#closeTransport(transport, 'peer_left');
        closed++;
      }
    }
    this.#peerRouters.delete(peerId);
    let piped = 0;
    for (const producer of [...this.#producers.values()]) {
      if (producer.appData.piped && producer.appData.peerId === peerId) {
        producer.close();
        this.#producers.delete(producer.id);
        piped++;
      }
    }
    this.#logger.info({ peerId, transports: closed, piped }, 'peer left');
    return closed;
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const router of this.#routers) {
      router.close();
    }
    this.#logger.info('room closed');
    this.emit('close');
  }

  #closeTransport(transport: types.WebRtcTransport<TransportOwned>, reason: string): void {
    if (transport.closed) {
      return;
    }
    transport.close();
    this.#transports.delete(transport.id);
    this.emit('event', {
      type: 'transportClosed',
      transportId: transport.id,
      peerId: transport.appData.peerId,
      reason,
    });
  }

  #transport(transportId: string): types.WebRtcTransport<TransportOwned> {
    const transport = this.#transports.get(transportId);
    if (!transport) {
      throw new NotFoundError(`transport ${transportId} not found in room ${this.id}`);
    }
    return transport;
  }

  #consumer(consumerId: string): types.Consumer<PeerOwned> {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer) {
      throw new NotFoundError(`consumer ${consumerId} not found in room ${this.id}`);
    }
    return consumer;
  }

  #producer(producerId: string): types.Producer<PeerOwned> {
    const producer = this.#producers.get(producerId);
    if (!producer) {
      throw new NotFoundError(`producer ${producerId} not found in room ${this.id}`);
    }
    return producer;
  }

  /** mediasoup throws TypeError for bad parameters; those are the caller's fault. */
  #mediasoupError(error: unknown, what: string): AppError {
    if (error instanceof TypeError || (error instanceof Error && error.name === 'UnsupportedError')) {
      return new InvalidArgumentError(`${what}: ${error.message}`);
    }
    if (error instanceof Error) {
      return new AppError('INTERNAL', `${what} failed: ${error.message}`, { cause: error });
    }
    return new AppError('INTERNAL', `${what} failed`, { cause: error });
  }
}
