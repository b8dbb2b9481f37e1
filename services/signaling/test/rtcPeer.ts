/**
 * A participant with real WebRTC and no browser, for integration tests of the media plane:
 * mediasoup-client's Chrome handler over @roamhq/wrtc (libwebrtc for Node), driven through
 * signaling's socket.io API like the UI drives it. Its camera and microphone are synthetic (a
 * moving test pattern, a 440 Hz tone), so the SFU sees real RTP: simulcast layers, audio levels
 * and the numbers its stats report.
 */
import { Device, type types } from 'mediasoup-client';
import { waitFor } from '@switchboard/testing';
import { installWebRtcGlobals, syntheticCamera, syntheticMicrophone } from '@switchboard/testing/webrtc';
import {
  cameraEncodings,
  type PeerStats,
  type ConsumerInfo,
  type ProducerInfo,
  type JoinResult,
  type TransportInfo,
} from '@switchboard/protocol';
import { data, request, type Client, type TestClients } from './clients';

export interface RtcPeerOptions {
  /** Camera size (default 1280×720) and frame rate (default 15); `false` for no camera. */
  camera?: { width: number; height: number; fps?: number } | false;
  /** Create the receiving transport with consumers of every producer already there (`existing`). */
  consumeExisting?: boolean;
  /** Take both transports from the join answer (`join { transports: true }`), not `createWebRtcTransport`. */
  joinTransports?: boolean;
  /** A microphone playing a tone (default true; amplitude of 32767, default 8000 ≈ -15 dBov). */
  microphone?: boolean | { amplitude: number };
}

export class RtcPeer {
  readonly client: Client;
  readonly peerId: string;
  readonly #device: Device;
  readonly #send: types.Transport;
  readonly #recv: types.Transport;
  readonly #stops: (() => void)[] = [];
  /** Producer ids by kind. */
  readonly producers: Partial<Record<'audio' | 'video', string>> = {};
  /** The consumers the receiving transport came with (`consumeExisting`), not set up yet. */
  existing: ConsumerInfo[] = [];

  private constructor(
    client: Client,
    peerId: string,
    device: Device,
    send: types.Transport,
    recv: types.Transport,
  ) {
    this.client = client;
    this.peerId = peerId;
    this.#device = device;
    this.#send = send;
    this.#recv = recv;
  }

  /** Joins on `client` (connected, not joined), creates both transports and produces. */
  static async join(client: Client, options: RtcPeerOptions = {}): Promise<RtcPeer> {
    installWebRtcGlobals();
    const device = new Device({ handlerName: 'Chrome111' });
    const { rtpCapabilities } = data<{ rtpCapabilities: types.RtpCapabilities }>(
      await request(client, 'getRouterRtpCapabilities', {}),
    );
    await device.load({ routerRtpCapabilities: rtpCapabilities });
    const { peerId, transports } = data<JoinResult>(
      await request(client, 'join', {
        rtpCapabilities: device.rtpCapabilities,
        ...(options.joinTransports ? { transports: true } : {}),
      }),
    );
    if (options.joinTransports && !(transports?.send && transports.recv)) {
      throw new Error(`the join answer carries no transports: ${JSON.stringify(transports)}`);
    }
    let existing: ConsumerInfo[] = [];
    const transport = async (producing: boolean) => {
      const info =
        (producing ? transports?.send : transports?.recv) ??
        data<TransportInfo>(
          await request(
            client,
            'createWebRtcTransport',
            producing || !options.consumeExisting ? { producing } : { producing, consumeExisting: true },
          ),
        );
      existing = info.consumers ?? existing;
      const created = producing
        ? device.createSendTransport(info as types.TransportOptions)
        : device.createRecvTransport(info as types.TransportOptions);
      created.on('connect', ({ dtlsParameters }, callback, errback) => {
        request(client, 'connectWebRtcTransport', { transportId: created.id, dtlsParameters })
          .then((answer) => (answer.ok ? callback() : errback(new Error(answer.error.message))))
          .catch(errback);
      });
      created.on('produce', ({ kind, rtpParameters }, callback, errback) => {
        request(client, 'produce', { transportId: created.id, kind, rtpParameters })
          .then((answer) => callback({ id: data<{ producerId: string }>(answer).producerId }))
          .catch(errback);
      });
      return created;
    };
    const peer = new RtcPeer(client, peerId, device, await transport(true), await transport(false));
    peer.existing = existing;
    try {
      const microphone = options.microphone ?? true;
      if (microphone) {
        const mic = syntheticMicrophone(microphone === true ? 8000 : microphone.amplitude);
        peer.#stops.push(mic.stop);
        peer.producers.audio = (await peer.#send.produce({ track: mic.track })).id;
      }
      const camera = options.camera ?? { width: 1280, height: 720 };
      if (camera) {
        const cam = syntheticCamera(camera.width, camera.height, camera.fps ?? 15);
        peer.#stops.push(cam.stop);
        const producer = await peer.#send.produce({
          track: cam.track,
          encodings: cameraEncodings(camera.height),
          codecOptions: { videoGoogleStartBitrate: 1000 },
        });
        peer.producers.video = producer.id;
      }
    } catch (error) {
      peer.close();
      throw error;
    }
    return peer;
  }

  /** Consumes a producer and resumes it; the consumer (its track receives the media). */
  async consume(producer: Pick<ProducerInfo, 'producerId'>): Promise<types.Consumer> {
    const info = data<{
      consumerId: string;
      producerId: string;
      kind: 'audio' | 'video';
      rtpParameters: object;
    }>(
      await request(this.client, 'consume', { transportId: this.#recv.id, producerId: producer.producerId }),
    );
    const consumer = await this.#recv.consume({
      id: info.consumerId,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters as types.RtpParameters,
    });
    data(await request(this.client, 'resumeConsumer', { consumerId: consumer.id }));
    return consumer;
  }

  /** Sets up the consumers the receiving transport came with and resumes them in one request. */
  async receiveExisting(): Promise<types.Consumer[]> {
    const consumers = await Promise.all(
      this.existing.map((info) =>
        this.#recv.consume({
          id: info.consumerId,
          producerId: info.producerId,
          kind: info.kind,
          rtpParameters: info.rtpParameters as types.RtpParameters,
        }),
      ),
    );
    data(await request(this.client, 'resumeConsumers', { consumerIds: consumers.map((c) => c.id) }));
    return consumers;
  }

  /** Closes the sending connection (as a network drop would end it: DTLS close on the SFU). */
  dropSending(): void {
    this.#send.close();
  }

  /** What the SFU node measures of this peer (the `getStats` request). */
  async stats(): Promise<PeerStats> {
    return data<PeerStats>(await request(this.client, 'getStats', {}));
  }

  /** Bytes the SFU has sent this peer of `producerId` so far. */
  async bytesReceived(producerId: string): Promise<number> {
    return (await this.stats()).consumers.find((c) => c.producerId === producerId)?.stream?.byteCount ?? 0;
  }

  /** Waits until what the SFU sends this peer of `producerId` grows by more than 10 kB. */
  async receiving(producerId: string, what: string): Promise<void> {
    const start = await this.bytesReceived(producerId);
    await waitFor(async () => (await this.bytesReceived(producerId)) > start + 10_000, {
      timeoutMs: 20_000,
      what,
    });
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.#device.rtpCapabilities;
  }

  close(): void {
    for (const stop of this.#stops) {
      stop();
    }
    this.#send.close();
    this.#recv.close();
    this.client.disconnect();
  }
}

/**
 * The participants with real media of one test file: each joins `room` as `name` through the
 * signaling server on `port` (a small camera unless told otherwise); `closeAll` ends them all.
 */
export class RtcParticipants {
  readonly #clients: TestClients;
  readonly #peers: RtcPeer[] = [];

  constructor(clients: TestClients) {
    this.#clients = clients;
  }

  async join(
    port: number,
    room: string,
    name: string,
    options: RtcPeerOptions = { camera: { width: 320, height: 180 } },
  ): Promise<RtcPeer> {
    const peer = await RtcPeer.join(
      await this.#clients.connect(port, await this.#clients.token(room, name)),
      options,
    );
    this.#peers.push(peer);
    return peer;
  }

  closeAll(): void {
    for (const peer of this.#peers) {
      peer.close();
    }
  }
}
