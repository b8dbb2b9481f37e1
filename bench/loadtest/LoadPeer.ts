/**
 * A synthetic participant of the load test: libwebrtc for Node (@roamhq/wrtc) under
 * mediasoup-client's Chrome handler, so it speaks WebRTC exactly as a browser does (ICE, DTLS,
 * SRTP, RTCP feedback, congestion control), with a synthetic camera and microphone. What it talks
 * to is a `PeerSignal`: our signaling over socket.io, or the bare-mediasoup reference.
 */
import { Device, type types } from 'mediasoup-client';
import type { ConsumerInfo } from '@switchboard/protocol';
import { installWebRtcGlobals, syntheticCamera, syntheticMicrophone } from '@switchboard/testing/webrtc';

export interface PeerSignal {
  capabilities(): Promise<types.RtpCapabilities>;
  join(rtpCapabilities: types.RtpCapabilities): Promise<void>;
  /** A transport; a receiving one comes with paused consumers of the producers already there. */
  createTransport(
    producing: boolean,
  ): Promise<{ options: types.TransportOptions; consumers: ConsumerInfo[] }>;
  connect(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void>;
  produce(transportId: string, kind: types.MediaKind, rtpParameters: types.RtpParameters): Promise<string>;
  resume(consumerIds: string[]): Promise<void>;
  close(): void;
}

export interface LoadPeerOptions {
  /** Publish a camera (320×180, 15 fps, capped at `bitrate` bps) and a microphone. */
  publish: boolean;
  /** Consume every producer already in the room when joining. */
  subscribe: boolean;
  bitrate: number;
}

/** What the peer's receiving side has counted so far (all its inbound RTP streams). */
export interface Received {
  packets: number;
  lost: number;
  bytes: number;
}

const CAMERA = { width: 320, height: 180, fps: 15 };

export class LoadPeer {
  readonly consumers: types.Consumer[] = [];
  readonly #signal: PeerSignal;
  readonly #transports: types.Transport[] = [];
  readonly #stops: (() => void)[] = [];

  private constructor(signal: PeerSignal) {
    this.#signal = signal;
  }

  /** Joins, publishes and/or subscribes; resolves once everything is set up. */
  static async join(signal: PeerSignal, options: LoadPeerOptions): Promise<LoadPeer> {
    installWebRtcGlobals();
    const peer = new LoadPeer(signal);
    try {
      const device = new Device({ handlerName: 'Chrome111' });
      await device.load({ routerRtpCapabilities: await signal.capabilities() });
      await signal.join(device.rtpCapabilities);
      if (options.publish) {
        await peer.#publish(device, options.bitrate);
      }
      if (options.subscribe) {
        await peer.#subscribe(device);
      }
    } catch (error) {
      peer.close();
      throw error;
    }
    return peer;
  }

  #wire(transport: types.Transport): types.Transport {
    this.#transports.push(transport);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#signal.connect(transport.id, dtlsParameters).then(callback, errback);
    });
    transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
      this.#signal.produce(transport.id, kind, rtpParameters).then((id) => callback({ id }), errback);
    });
    return transport;
  }

  async #publish(device: Device, bitrate: number): Promise<void> {
    const { options } = await this.#signal.createTransport(true);
    const send = this.#wire(device.createSendTransport(options));
    const mic = syntheticMicrophone(8000);
    const cam = syntheticCamera(CAMERA.width, CAMERA.height, CAMERA.fps);
    this.#stops.push(mic.stop, cam.stop);
    await send.produce({ track: mic.track });
    await send.produce({ track: cam.track, encodings: [{ maxBitrate: bitrate }] });
  }

  async #subscribe(device: Device): Promise<void> {
    const { options, consumers } = await this.#signal.createTransport(false);
    const recv = this.#wire(device.createRecvTransport(options));
    for (const info of consumers) {
      this.consumers.push(
        await recv.consume({
          id: info.consumerId,
          producerId: info.producerId,
          kind: info.kind,
          rtpParameters: info.rtpParameters as types.RtpParameters,
        }),
      );
    }
    await this.#signal.resume(this.consumers.map((c) => c.id));
  }

  /** Inbound RTP counted by this peer's receiving transport (libwebrtc's own statistics). */
  async received(): Promise<Received> {
    const total: Received = { packets: 0, lost: 0, bytes: 0 };
    for (const transport of this.#transports.filter((t) => t.direction === 'recv' && !t.closed)) {
      const report = await transport.getStats();
      report.forEach(
        (stat: { type: string; packetsReceived?: number; packetsLost?: number; bytesReceived?: number }) => {
          if (stat.type === 'inbound-rtp') {
            total.packets += stat.packetsReceived ?? 0;
            total.lost += Math.max(0, stat.packetsLost ?? 0);
            total.bytes += stat.bytesReceived ?? 0;
          }
        },
      );
    }
    return total;
  }

  close(): void {
    for (const stop of this.#stops) {
      stop();
    }
    for (const transport of this.#transports) {
      transport.close();
    }
    this.#signal.close();
  }
}
