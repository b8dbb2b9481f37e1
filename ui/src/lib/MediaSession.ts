/**
 * The media of one attempt at being in the call, nested as mediasoup-client's own objects are: a
 * Device, a sending transport with our producers, a receiving one with everyone else's consumers.
 * It learns signaling only through the SignalingConnection it is given (a transport's `connect`
 * and `produce` events become requests, as in mediasoup-client's own design) and tells its owner
 * what arrives and what ends through `MediaSessionEvents`. Each (re)join makes a new one; `close()`
 * ends it and everything on it, after which it does nothing and tells nothing.
 */
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import {
  cameraEncodings,
  DEFAULT_SOURCE,
  type ConsumerInfo,
  type IceServer,
  type JoinResult,
  type MediaSource,
  type ProducerInfo,
  type SignalingConnection,
  type TransportInfo,
} from '@switchboard/protocol';
import { askAgainWhenBusy } from './askAgainWhenBusy';

export type LocalKind = 'audio' | 'video';

/** How a tile is shown, reported so the SFU sends what it needs (nothing when hidden). */
export interface TileView {
  visible: boolean;
  /** Device pixels. */
  height: number;
}

export interface MediaSessionEvents {
  /** A remote participant's track arrived (the SFU sends it once its consumer resumes). */
  trackAdded(peerId: string, source: MediaSource, track: MediaStreamTrack): void;
  trackRemoved(peerId: string, source: MediaSource, track: MediaStreamTrack): void;
  /** What a consumer says of its producer (the room state may not have it yet). */
  producerSeen(producer: ProducerInfo): void;
  /** A consumer resumed: its tile starts moving. */
  resumed(): void;
  /** The media path is gone and ICE restarts did not bring it back: rejoin. */
  failed(reason: string): void;
  /** A step worth a performance mark ("sending connected", …). */
  mark(name: string): void;
}

export interface MediaSessionOptions {
  signaling: SignalingConnection;
  events: MediaSessionEvents;
  /** How each remote tile is shown, by `<peerId>:<source>`; owned by the call, kept across sessions. */
  views: ReadonlyMap<string, TileView>;
}

export interface TransportOptions {
  /** Our peer id: its own producers are never consumed. */
  selfPeerId: string;
  /** TURN servers and credentials (from the join token). */
  iceServers: IceServer[];
  /** Send and receive only through TURN. */
  forceRelay: boolean;
}

/** A consumer and whose track it carries; `resumed` once the SFU sends it. */
interface ConsumerEntry {
  consumer: types.Consumer;
  /** What the server said of it. */
  info: ConsumerInfo;
  peerId: string;
  source: MediaSource;
  resumed: boolean;
}

/** ICE restarts tried on a transport whose connection dropped before the session gives up. */
const ICE_RESTARTS = 2;

/** A tile's reported height must change by this share of the last one to be reported again. */
const VIEW_HEIGHT_STEP = 0.2;

export class MediaSession {
  readonly #signaling: SignalingConnection;
  readonly #events: MediaSessionEvents;
  readonly #views: ReadonlyMap<string, TileView>;
  readonly #device: Device;
  #selfPeerId?: string;
  #send?: types.Transport;
  #recv?: types.Transport;
  readonly #producers = new Map<LocalKind, types.Producer>();
  #screen?: types.Producer;
  readonly #consumers = new Map<string, ConsumerEntry>();
  /** Producers consumed or being consumed (the join answer and newProducer may both name one). */
  readonly #consumed = new Set<string>();
  /** Announced before the receiving transport existed: consumed as soon as it does. */
  readonly #waiting: ProducerInfo[] = [];
  /** What was last reported for each consumer's tile. */
  readonly #sentViews = new Map<string, TileView>();
  #closed = false;

  private constructor(opts: MediaSessionOptions, device: Device) {
    this.#signaling = opts.signaling;
    this.#events = opts.events;
    this.#views = opts.views;
    this.#device = device;
  }

  /** A session whose device has the router's capabilities loaded: all a join needs first. */
  static async load(opts: MediaSessionOptions): Promise<MediaSession> {
    const { rtpCapabilities } = await opts.signaling.request('getRouterRtpCapabilities', {});
    const device = new Device();
    await device.load({ routerRtpCapabilities: rtpCapabilities as types.RtpCapabilities });
    return new MediaSession(opts, device);
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.#device.rtpCapabilities;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether we send a screen share on this session. */
  get sharingScreen(): boolean {
    return this.#screen !== undefined;
  }

  /**
   * Sets up both transports: those the join answer carried (`made`), the others created at once
   * (the receiving one comes with consumers of everything already in the room, which it returns
   * for `receive`).
   */
  async connect(
    opts: TransportOptions,
    made: JoinResult['transports'] = {},
    may: { send: boolean; receive: boolean } = { send: true, receive: true },
  ): Promise<ConsumerInfo[]> {
    this.#selfPeerId = opts.selfPeerId;
    const prepared = this.#recv;
    const onPrepared = prepared !== undefined && prepared.id === made.recv?.id;
    const sending = async () =>
      may.send ? (await this.#transport(opts, true, made.send)).transport : undefined;
    if (onPrepared && !prepared.closed && !['failed', 'closed'].includes(prepared.connectionState)) {
      // The join took the transport `prepare` made (and brought up): only its consumers are new.
      this.#events.mark('receiving on the prepared transport');
      this.#send = await sending();
      return made.recv?.consumers ?? [];
    }
    prepared?.close();
    this.#recv = undefined;
    const [send, { transport: recv, consumers = [] }] = await Promise.all([
      sending(),
      // A prepared transport that failed here is not set up again: a new one is asked for.
      may.receive
        ? this.#transport(opts, false, onPrepared ? undefined : made.recv)
        : { transport: undefined, consumers: [] },
    ]);
    this.#send = send;
    this.#recv = recv;
    return consumers;
  }

  /**
   * Before joining, while the preview shows: the receiving transport, made by the server now and
   * brought up (ICE, DTLS) by setting up the data consumer it came with, so that after the click
   * media flows as soon as the consumers are resumed. Resolves once the server has our DTLS
   * parameters (the handshake may still be running); rejects where the room does not prepare
   * (a lobby, a token that cannot receive): `connect` then makes everything as before.
   */
  async prepare(opts: Pick<TransportOptions, 'iceServers' | 'forceRelay'>): Promise<void> {
    const info = await this.#signaling.request('prepare', {});
    const { transport } = await this.#transport(opts, false, info);
    this.#recv = transport;
    await transport.consumeData({
      id: info.dataConsumer.id,
      dataProducerId: info.dataConsumer.dataProducerId,
      sctpStreamParameters: { streamId: info.dataConsumer.streamId, ordered: true },
      label: info.dataConsumer.label,
    });
  }

  /** Sends a microphone or camera track (paused from the start when `paused`). */
  async produce(track: MediaStreamTrack, paused: boolean): Promise<void> {
    const send = this.#requireSend();
    const producer = await send.produce({
      track,
      stopTracks: false,
      appData: { paused },
      ...(track.kind === 'video' && {
        encodings: cameraEncodings(track.getSettings().height),
        codecOptions: { videoGoogleStartBitrate: 1000 },
      }),
    });
    if (paused) {
      producer.pause();
    }
    this.#producers.set(producer.kind, producer);
  }

  /** Sends a screen share's track (once per session). */
  async produceScreen(track: MediaStreamTrack): Promise<void> {
    const send = this.#requireSend();
    if (this.#screen) {
      return;
    }
    this.#screen = await send.produce({ track, stopTracks: false, appData: { source: 'screen' } });
    this.#events.mark('sharing screen');
  }

  /** Stops sending the screen share and tells signaling. */
  async closeScreen(): Promise<void> {
    const producer = this.#screen;
    if (!producer) {
      return;
    }
    this.#screen = undefined;
    producer.close();
    if (!this.#closed) {
      await this.#signaling.request('closeProducer', { producerId: producer.id }).catch(() => {});
    }
  }

  /** Swaps the track a producer sends (another device, an effect): no renegotiation. */
  async replaceTrack(kind: LocalKind, track: MediaStreamTrack | undefined): Promise<void> {
    const producer = this.#producers.get(kind);
    if (producer && !producer.closed) {
      await producer.replaceTrack({ track: track ?? null });
      this.#events.mark(`replaced ${kind} track`);
    }
  }

  /** Pauses or resumes our producer of `kind` here and on the SFU (nothing without one). */
  async setPaused(kind: LocalKind, paused: boolean): Promise<void> {
    const producer = this.#producers.get(kind);
    if (this.#closed || !producer) {
      return;
    }
    if (paused) {
      producer.pause();
    } else {
      producer.resume();
    }
    await this.#signaling.request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
  }

  /** Pauses our producer here only: the SFU already paused it (a host muted us). */
  pausedBySfu(kind: LocalKind): void {
    this.#producers.get(kind)?.pause();
  }

  /**
   * Receives what is in the room: the consumers the receiving transport came with, then the
   * producers the join answer and `newProducer` named meanwhile.
   */
  async receive(existing: ConsumerInfo[], announced: ProducerInfo[]): Promise<void> {
    await Promise.all([
      this.#consumeAll(existing),
      ...[...announced, ...this.#waiting.splice(0)].map((producer) => this.consume(producer)),
    ]);
  }

  /** Receives one producer (a newcomer's); waits for the receiving transport when it is not there yet. */
  async consume(producer: ProducerInfo): Promise<void> {
    const transport = this.#recv;
    if (this.#closed || producer.peerId === this.#selfPeerId || this.#consumed.has(producer.producerId)) {
      return;
    }
    if (!transport) {
      this.#waiting.push(producer);
      return;
    }
    this.#consumed.add(producer.producerId);
    try {
      const info = await this.#signaling.request('consume', {
        transportId: transport.id,
        producerId: producer.producerId,
      });
      const entry = await this.#receive(transport, { ...info, source: producer.source });
      await this.#resume(entry);
      this.#resumed(entry);
    } catch (error) {
      this.#consumed.delete(producer.producerId);
      if (!this.#closed) {
        console.warn('could not receive a track', error);
      }
    }
  }

  /** Whether a video of someone else was decoded yet (a consumer's inbound-rtp framesDecoded). */
  async videoDecoded(): Promise<boolean> {
    for (const { consumer } of this.#consumers.values()) {
      if (consumer.kind !== 'video' || consumer.closed) {
        continue;
      }
      const stats = await consumer.getStats().catch(() => undefined);
      for (const report of stats?.values() ?? []) {
        if (report.type === 'inbound-rtp' && (report as { framesDecoded?: number }).framesDecoded) {
          return true;
        }
      }
    }
    return false;
  }

  /** Stops receiving a producer that closed (or whose consumer the SFU closed). */
  removeProducer(producerId: string): void {
    for (const [id, entry] of this.#consumers) {
      if (entry.consumer.producerId === producerId) {
        entry.consumer.close();
        this.#consumers.delete(id);
        this.#sentViews.delete(id);
        this.#events.trackRemoved(entry.peerId, entry.source, entry.consumer.track);
      }
    }
    this.#consumed.delete(producerId);
  }

  /** Reports a tile's new view for the consumers showing it (see `views`). */
  showTile(peerId: string, source: MediaSource, view: TileView): void {
    if (this.#closed) {
      return;
    }
    for (const [id, entry] of this.#consumers) {
      if (entry.peerId === peerId && entry.source === source && entry.resumed) {
        this.#sendView(id, view);
      }
    }
  }

  /** Closes both transports (and so every producer and consumer on them); idempotent. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#send?.close();
    this.#recv?.close();
    this.#sentViews.clear();
  }

  #requireSend(): types.Transport {
    if (this.#closed || !this.#send) {
      throw new Error('the media session has no sending transport');
    }
    return this.#send;
  }

  /** Sets up the transport the join answer carried, or asks for one when it carried none. */
  async #transport(
    opts: Pick<TransportOptions, 'iceServers' | 'forceRelay'>,
    producing: boolean,
    made: TransportInfo | undefined,
  ): Promise<{ transport: types.Transport; consumers?: ConsumerInfo[] }> {
    const signaling = this.#signaling;
    const info =
      made ??
      (await signaling.request(
        'createWebRtcTransport',
        producing ? { producing } : { producing, consumeExisting: true },
      ));
    const options = {
      id: info.id,
      iceParameters: info.iceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
      sctpParameters: info.sctpParameters,
      iceServers: opts.iceServers,
      iceTransportPolicy: opts.forceRelay ? ('relay' as const) : ('all' as const),
    };
    const transport = producing
      ? this.#device.createSendTransport(options)
      : this.#device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      signaling
        .request('connectWebRtcTransport', {
          transportId: transport.id,
          dtlsParameters: dtlsParameters as never,
        })
        .then(() => callback())
        .catch(errback);
    });
    if (producing) {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        signaling
          .request('produce', {
            transportId: transport.id,
            kind,
            rtpParameters: rtpParameters as never,
            paused: appData.paused === true,
            source: appData.source as MediaSource | undefined,
          })
          .then(({ producerId }) => callback({ id: producerId }))
          .catch(errback);
      });
    }
    this.#restartIceWhenLost(transport, producing ? 'sending' : 'receiving');
    return { transport, consumers: info.consumers };
  }

  /**
   * The network path went away: restart ICE on the transport first (new ICE parameters from the
   * media node, same DTLS session, nothing renegotiated); the session fails only if that fails too.
   */
  #restartIceWhenLost(transport: types.Transport, what: string): void {
    let restarts = 0;
    const fail = () => {
      if (!this.#closed) {
        this.#events.failed(`media connection failed (${what})`);
      }
    };
    transport.on('connectionstatechange', (state) => {
      this.#events.mark(`${what} ${state}`);
      if (state !== 'disconnected' && state !== 'failed') {
        if (state === 'connected') {
          restarts = 0;
        }
        return;
      }
      if (this.#selfPeerId === undefined) {
        return; // prepared before joining: the join makes a new one if this one is gone
      }
      if (restarts >= ICE_RESTARTS) {
        if (state === 'failed') {
          fail();
        }
        return;
      }
      restarts++;
      this.#signaling
        .request('restartIce', { transportId: transport.id })
        .then(({ iceParameters }) =>
          transport.restartIce({ iceParameters: iceParameters as types.IceParameters }),
        )
        .then(() => this.#events.mark(`ice restarted (${what})`))
        .catch((error: unknown) => {
          this.#events.mark(`ice restart failed (${what}): ${(error as Error).message}`);
          fail();
        });
    });
  }

  /**
   * The consumers the server made with the receiving transport (one per producer already in the
   * room): set up side by side and resumed at the same time. Resuming need not wait for the set-up
   * while the transport has not connected: nothing flows before ICE and DTLS, and those start
   * only once mediasoup-client has set every one of these consumers up (they go in one batch), so
   * receiving takes one round trip after the join answer, not two.
   */
  async #consumeAll(infos: ConsumerInfo[]): Promise<void> {
    const transport = this.#recv;
    if (!transport || infos.length === 0) {
      return;
    }
    for (const info of infos) {
      this.#consumed.add(info.producerId);
    }
    const receiving = Promise.all(
      infos.map((info) =>
        this.#receive(transport, info).catch((error: unknown) => {
          this.#consumed.delete(info.producerId);
          if (!this.#closed) {
            console.warn('could not receive a track', error);
          }
          return undefined;
        }),
      ),
    );
    const early = transport.connectionState === 'new';
    const resuming = early ? this.#resumeAll(infos) : undefined;
    const ready = (await receiving).filter((entry) => entry !== undefined);
    await (resuming ?? this.#resumeAll(ready.map(({ info }) => info)));
    for (const entry of ready) {
      this.#resumed(entry);
    }
  }

  /** Resumes consumers: videos whose tile is known with its layer, the rest in one request. */
  async #resumeAll(infos: ConsumerInfo[]): Promise<void> {
    const shown = infos.filter((info) => this.#shownView(info) !== undefined);
    const rest = infos.filter((info) => !shown.includes(info));
    await Promise.all([
      ...shown.map((info) => this.#askAgainWhenBusy(() => this.#resumeWithView(info))),
      rest.length > 0 &&
        this.#askAgainWhenBusy(() =>
          this.#signaling.request('resumeConsumers', { consumerIds: rest.map((info) => info.consumerId) }),
        ),
    ]);
  }

  /** Sets up a consumer the server made (paused) and hands its track to the owner. */
  async #receive(transport: types.Transport, info: ConsumerInfo): Promise<ConsumerEntry> {
    const consumer = await transport.consume({
      id: info.consumerId,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters as types.RtpParameters,
    });
    const source = info.source ?? DEFAULT_SOURCE[info.kind];
    const entry: ConsumerEntry = { consumer, info, peerId: info.peerId, source, resumed: false };
    this.#consumers.set(consumer.id, entry);
    this.#events.trackAdded(info.peerId, source, consumer.track);
    this.#events.producerSeen({
      producerId: info.producerId,
      peerId: info.peerId,
      kind: info.kind,
      source,
      paused: info.producerPaused,
    });
    return entry;
  }

  /** The view of a video consumer's tile when the tile is known and shown. */
  #shownView(info: Pick<ConsumerInfo, 'peerId' | 'source' | 'kind'>): TileView | undefined {
    const view = this.#views.get(`${info.peerId}:${info.source ?? DEFAULT_SOURCE[info.kind]}`);
    return info.kind === 'video' && view?.visible ? view : undefined;
  }

  /**
   * Resumes a video consumer whose tile already reported its view, so the SFU starts with the
   * layer the tile needs (one key frame, no switch right after). False when there is no view yet
   * (resume it plainly).
   */
  async #resumeWithView(
    info: Pick<ConsumerInfo, 'consumerId' | 'peerId' | 'source' | 'kind'>,
  ): Promise<boolean> {
    const view = this.#shownView(info);
    if (!view) {
      return false;
    }
    const height = Math.round(view.height);
    this.#sentViews.set(info.consumerId, { visible: true, height });
    await this.#signaling.request('consumerView', { consumerId: info.consumerId, visible: true, height });
    return true;
  }

  /**
   * Asks the SFU to start sending a new consumer (with its tile's view when known), again when the
   * media node was too busy to answer in time (seen in the 6-tab e2e on a saturated machine).
   */
  async #resume(entry: ConsumerEntry): Promise<void> {
    await this.#askAgainWhenBusy(async () => {
      if (!(await this.#resumeWithView(entry.info))) {
        await this.#signaling.request('resumeConsumer', { consumerId: entry.consumer.id });
      }
    });
  }

  /** A request that leaves a consumer paused for good when lost: up to 3 tries, 1 s and 2 s apart. */
  #askAgainWhenBusy<T>(request: () => Promise<T>): Promise<T> {
    return askAgainWhenBusy(request, {
      tries: 3,
      delayMs: (failedTry) => failedTry * 1000,
      stopped: () => this.#closed,
    });
  }

  /** The SFU sends it now: report its tile's view, tell the owner. */
  #resumed(entry: ConsumerEntry): void {
    entry.resumed = true;
    const view = this.#views.get(`${entry.peerId}:${entry.source}`);
    if (entry.consumer.kind === 'video' && view) {
      this.#sendView(entry.consumer.id, view);
    }
    this.#events.mark(`consuming ${entry.consumer.kind} of ${entry.peerId}`);
    this.#events.resumed();
  }

  #sendView(consumerId: string, view: TileView): void {
    const sent = this.#sentViews.get(consumerId);
    const height = Math.round(view.height);
    if (
      sent &&
      sent.visible === view.visible &&
      Math.abs(sent.height - height) <= sent.height * VIEW_HEIGHT_STEP
    ) {
      return;
    }
    this.#sentViews.set(consumerId, { visible: view.visible, height });
    this.#signaling
      .request('consumerView', { consumerId, visible: view.visible, height })
      .catch(() => this.#sentViews.delete(consumerId));
  }
}
