/**
 * The browser side of a call: gets a join token from the gateway, connects to signaling over
 * socket.io, and sends/receives media through the SFU with mediasoup-client. The UI renders
 * `snapshot()` whenever `onChange` fires.
 */
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  ClientToServerEvents,
  PeerInfo,
  ProducerInfo,
  RequestName,
  RequestPayload,
  ResponseMap,
  ServerToClientEvents,
} from '@switchboard/protocol';

export interface RemoteParticipant {
  peerId: string;
  displayName: string;
  stream: MediaStream;
  audioMuted: boolean;
  videoOff: boolean;
}

export interface CallSnapshot {
  status: 'connecting' | 'joined' | 'reconnecting' | 'left' | 'failed';
  error?: string;
  selfPeerId?: string;
  participants: RemoteParticipant[];
}

export class CallError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly correlationId?: string,
  ) {
    super(message);
  }
}

/** Performance marks ("sb:joined", …) for profiling the join path in the browser's dev tools. */
function mark(name: string): void {
  if (typeof performance !== 'undefined') {
    performance.mark(`sb:${name}`);
  }
}

function newCorrelationId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) {
    return crypto.randomUUID();
  }
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

export class CallClient {
  readonly #socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly #device = new Device();
  readonly #onChange: () => void;
  readonly #participants = new Map<string, RemoteParticipant>();
  readonly #consumers = new Map<string, { consumer: types.Consumer; peerId: string }>();
  readonly #producers = new Map<'audio' | 'video', types.Producer>();
  readonly #waitingProducers: ProducerInfo[] = [];
  /** Producers consumed or being consumed (the join answer and newProducer may both name one). */
  readonly #consumedProducers = new Set<string>();
  #sendTransport?: types.Transport;
  #recvTransport?: types.Transport;
  #status: CallSnapshot['status'] = 'connecting';
  #error?: string;
  #selfPeerId?: string;
  #closed = false;

  private constructor(socket: Socket<ServerToClientEvents, ClientToServerEvents>, onChange: () => void) {
    this.#socket = socket;
    this.#onChange = onChange;
  }

  /** Joins `room` as `displayName`, sending the tracks of `localStream`. */
  static async join(opts: {
    room: string;
    displayName: string;
    localStream: MediaStream;
    onChange: () => void;
  }): Promise<CallClient> {
    mark('join');
    const response = await fetch(`/api/rooms/${encodeURIComponent(opts.room)}/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ displayName: opts.displayName }),
    });
    const body = (await response.json().catch(() => ({}))) as { token?: string; message?: string };
    if (!response.ok || !body.token) {
      throw new CallError(body.message ?? `the gateway refused (${response.status})`, 'UNAVAILABLE');
    }
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
      path: '/socket.io',
      transports: ['websocket'],
      auth: { token: body.token },
      reconnection: false,
    });
    const client = new CallClient(socket, opts.onChange);
    try {
      await client.#start(opts.localStream);
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  snapshot(): CallSnapshot {
    return {
      status: this.#status,
      error: this.#error,
      selfPeerId: this.#selfPeerId,
      participants: [...this.#participants.values()],
    };
  }

  async #request<E extends RequestName>(event: E, payload: RequestPayload<E>): Promise<ResponseMap[E]> {
    const correlationId = newCorrelationId();
    const response = await new Promise<Ack<ResponseMap[E]>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new CallError(`${event} timed out`, 'DEADLINE_EXCEEDED', correlationId)),
        10_000,
      );
      (this.#socket.emit as (e: string, p: unknown, ack: (r: Ack<ResponseMap[E]>) => void) => void)(
        event,
        { ...payload, correlationId },
        (ack) => {
          clearTimeout(timer);
          resolve(ack);
        },
      );
    });
    if (!response.ok) {
      throw new CallError(
        `${event}: ${response.error.message}`,
        response.error.code,
        response.error.correlationId,
      );
    }
    return response.data;
  }

  async #start(localStream: MediaStream): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#socket.once('connect', () => resolve());
      this.#socket.once('connect_error', (error) => reject(new CallError(error.message, 'UNAUTHENTICATED')));
    });
    this.#socket.on('disconnect', (reason) => {
      if (!this.#closed && this.#status !== 'failed') {
        this.#status = 'failed';
        this.#error = `Disconnected from the server (${reason}). Rejoin to continue.`;
        this.#onChange();
      }
    });
    this.#socket.on('callEnded', ({ reason }) => {
      this.#status = 'failed';
      this.#error = reason;
      this.#onChange();
    });
    this.#socket.on('peerJoined', (peer) => this.#addParticipant(peer));
    this.#socket.on('peerLeft', ({ peerId }) => {
      this.#participants.delete(peerId);
      this.#onChange();
    });
    this.#socket.on('newProducer', (producer) => void this.#consume(producer));
    this.#socket.on('producerClosed', ({ producerId }) => this.#removeProducer(producerId));
    this.#socket.on('consumerClosed', ({ producerId }) => this.#removeProducer(producerId));
    this.#socket.on('producerPaused', ({ producerId, peerId, paused }) => {
      const participant = this.#participants.get(peerId);
      const entry = [...this.#consumers.values()].find((c) => c.consumer.producerId === producerId);
      if (participant && entry) {
        if (entry.consumer.kind === 'audio') {
          participant.audioMuted = paused;
        } else {
          participant.videoOff = paused;
        }
        this.#onChange();
      }
    });

    mark('connected');
    const { rtpCapabilities } = await this.#request('getRouterRtpCapabilities', {});
    await this.#device.load({ routerRtpCapabilities: rtpCapabilities as types.RtpCapabilities });
    const joined = await this.#request('join', { rtpCapabilities: this.#device.rtpCapabilities as never });
    this.#selfPeerId = joined.peerId;
    mark('joined');
    for (const peer of joined.peers) {
      this.#addParticipant(peer);
    }
    // Both transports at once; then send and receive side by side, so the others' video does not
    // wait for our own DTLS handshake.
    const [send, recv] = await Promise.all([this.#createTransport(true), this.#createTransport(false)]);
    this.#sendTransport = send;
    this.#recvTransport = recv;
    mark('transports');
    this.#status = 'joined';
    this.#onChange();
    const waiting = [...joined.producers, ...this.#waitingProducers.splice(0)];
    await Promise.all([
      ...localStream.getTracks().map(async (track) => {
        const producer = await send.produce({ track, stopTracks: false });
        this.#producers.set(producer.kind, producer);
      }),
      ...waiting.map((producer) => this.#consume(producer)),
    ]);
  }

  async #createTransport(producing: boolean): Promise<types.Transport> {
    const info = await this.#request('createWebRtcTransport', { producing });
    const options = {
      id: info.id,
      iceParameters: info.iceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
    };
    const transport = producing
      ? this.#device.createSendTransport(options)
      : this.#device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#request('connectWebRtcTransport', {
        transportId: transport.id,
        dtlsParameters: dtlsParameters as never,
      })
        .then(() => callback())
        .catch(errback);
    });
    if (producing) {
      transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
        this.#request('produce', { transportId: transport.id, kind, rtpParameters: rtpParameters as never })
          .then(({ producerId }) => callback({ id: producerId }))
          .catch(errback);
      });
    }
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed' && !this.#closed) {
        this.#status = 'failed';
        this.#error = `media connection failed (${producing ? 'sending' : 'receiving'})`;
        this.#onChange();
      }
    });
    return transport;
  }

  #addParticipant(peer: PeerInfo): void {
    if (peer.peerId === this.#selfPeerId || this.#participants.has(peer.peerId)) {
      return;
    }
    this.#participants.set(peer.peerId, {
      peerId: peer.peerId,
      displayName: peer.displayName,
      stream: new MediaStream(),
      audioMuted: false,
      videoOff: false,
    });
    this.#onChange();
  }

  async #consume(producer: ProducerInfo): Promise<void> {
    const transport = this.#recvTransport;
    if (producer.peerId === this.#selfPeerId || this.#consumedProducers.has(producer.producerId)) {
      return;
    }
    if (!transport) {
      // Announced before our receiving transport exists: consumed as soon as it does.
      this.#waitingProducers.push(producer);
      return;
    }
    this.#consumedProducers.add(producer.producerId);
    try {
      const info = await this.#request('consume', {
        transportId: transport.id,
        producerId: producer.producerId,
      });
      const consumer = await transport.consume({
        id: info.consumerId,
        producerId: info.producerId,
        kind: info.kind,
        rtpParameters: info.rtpParameters as types.RtpParameters,
      });
      this.#consumers.set(consumer.id, { consumer, peerId: info.peerId });
      const participant = this.#participants.get(info.peerId);
      if (participant) {
        // A new MediaStream object makes React (and the <video>) pick up the added track.
        participant.stream = new MediaStream([...participant.stream.getTracks(), consumer.track]);
        if (info.kind === 'audio') {
          participant.audioMuted = info.producerPaused;
        } else {
          participant.videoOff = info.producerPaused;
        }
      }
      await this.#request('resumeConsumer', { consumerId: consumer.id });
      mark(`consuming ${info.kind} of ${info.peerId}`);
      this.#onChange();
    } catch (error) {
      this.#consumedProducers.delete(producer.producerId);
      console.warn('could not receive a track', error);
    }
  }

  #removeProducer(producerId: string): void {
    for (const [id, entry] of this.#consumers) {
      if (entry.consumer.producerId === producerId) {
        entry.consumer.close();
        this.#consumers.delete(id);
        const participant = this.#participants.get(entry.peerId);
        if (participant) {
          participant.stream = new MediaStream(
            participant.stream.getTracks().filter((t) => t !== entry.consumer.track),
          );
        }
      }
    }
    this.#consumedProducers.delete(producerId);
    this.#onChange();
  }

  async #setPaused(kind: 'audio' | 'video', paused: boolean): Promise<void> {
    const producer = this.#producers.get(kind);
    if (!producer) {
      return;
    }
    if (paused) {
      producer.pause();
    } else {
      producer.resume();
    }
    await this.#request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
  }

  setMicrophoneMuted(muted: boolean): Promise<void> {
    return this.#setPaused('audio', muted);
  }

  setCameraOff(off: boolean): Promise<void> {
    return this.#setPaused('video', off);
  }

  /** Leaves the room and closes everything; idempotent. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    if (this.#socket.connected) {
      this.#socket.emit('leave', { correlationId: newCorrelationId() }, () => this.#socket.disconnect());
      setTimeout(() => this.#socket.disconnect(), 1000);
    } else {
      this.#socket.disconnect();
    }
    this.#sendTransport?.close();
    this.#recvTransport?.close();
    this.#status = 'left';
    this.#onChange();
  }
}
