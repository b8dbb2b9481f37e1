/**
 * A synthetic participant for the capacity bench, much cheaper than `LoadPeer`: it speaks to the
 * same `PeerSignal` (our signaling or bare mediasoup) but its media is an `RtpLink`. A publisher
 * sends pre-made frames, no encoder: VP8 simulcast in three layers (150 kbit/s, 500 kbit/s and a
 * 720p-like top layer, 1.5 Mbit/s by default, at 30 fps, a key frame every second on each layer)
 * and Opus-sized audio every 20 ms with an audio level. A subscriber consumes every publisher of
 * its room and only counts the RTP it receives. Its capabilities leave out transport-wide
 * congestion control and REMB, so the SFU sends each consumer the top layer (no bandwidth
 * estimation without the receiver's feedback) and no packet is a retransmission.
 */
import { randomBytes } from 'node:crypto';
import type { types } from 'mediasoup-client';
import type { PeerSignal, Received } from './LoadPeer';
import { RtpLink, type ServerTransport } from './RtpLink';

export interface RtpPeerOptions {
  publish: boolean;
  subscribe: boolean;
  /** The top simulcast layer's bitrate, bit/s; the lower two are a third and a tenth of it. */
  bitrate: number;
  /**
   * A subscriber that does not count stops reading once connected (the SFU's cost is the same:
   * it sends as much), so a sample of counting subscribers measures the loss for all at a
   * fraction of the generator's CPU. Default true.
   */
  count?: boolean;
}

const FPS = 30;
const PAYLOAD_BYTES = 1100;
const KEY_FRAME_EVERY_FRAMES = FPS;
/** Ticks a late timer sends at once at most (beyond, they are skipped). */
const MAX_CATCH_UP = 3;
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
/** Header extensions a receiver without congestion-control feedback declares. */
const NO_FEEDBACK_EXTENSIONS = new Set([
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
]);

/** The router's capabilities, minus what would make the SFU estimate bandwidth per receiver. */
export function receiverCapabilities(router: types.RtpCapabilities): types.RtpCapabilities {
  return {
    codecs: (router.codecs ?? []).map((codec) => ({
      ...codec,
      rtcpFeedback: (codec.rtcpFeedback ?? []).filter(
        (f) => f.type !== 'transport-cc' && f.type !== 'goog-remb',
      ),
    })),
    headerExtensions: (router.headerExtensions ?? []).filter((e) => !NO_FEEDBACK_EXTENSIONS.has(e.uri)),
  };
}

const randomSsrc = () => randomBytes(4).readUInt32BE() >>> 0 || 1;

/** One outgoing RTP stream's counters. */
class Stream {
  readonly ssrc = randomSsrc();
  seq = randomBytes(2).readUInt16BE();
  timestamp = randomBytes(4).readUInt32BE();
  next(): number {
    this.seq = (this.seq + 1) & 0xffff;
    return this.seq;
  }
}

/**
 * VP8 payload (RFC 7741): a 6-byte descriptor (X, S for a frame's first packet, a 15-bit
 * picture id, TL0PICIDX, TID 0 with Y) then, in the first packet, the VP8 frame header (a key
 * frame's carries the start code and 1280x720).
 */
function vp8Payload(first: boolean, key: boolean, pictureId: number, size: number): Buffer {
  const payload = Buffer.alloc(size);
  payload[0] = first ? 0x90 : 0x80;
  payload[1] = 0xe0;
  payload[2] = 0x80 | ((pictureId >> 8) & 0x7f);
  payload[3] = pictureId & 0xff;
  payload[4] = pictureId & 0xff;
  payload[5] = 0x20;
  if (first) {
    payload[6] = key ? 0x10 : 0x11;
    if (key) {
      payload.set([0x9d, 0x01, 0x2a], 9);
      payload.writeUInt16LE(1280, 12);
      payload.writeUInt16LE(720, 14);
    }
  }
  return payload;
}

export class RtpPeer {
  readonly consumers: string[] = [];
  /**
   * Packets this publisher sent that each of its subscribers should get: its audio and its top
   * video layer (what the SFU forwards to a receiver without bandwidth estimation).
   */
  #forEachSubscriber = 0;
  readonly #signal: PeerSignal;
  readonly #links: RtpLink[] = [];
  readonly #timers: ReturnType<typeof setInterval>[] = [];

  private constructor(signal: PeerSignal) {
    this.#signal = signal;
  }

  static async join(signal: PeerSignal, options: RtpPeerOptions): Promise<RtpPeer> {
    const peer = new RtpPeer(signal);
    try {
      const router = await signal.capabilities();
      await signal.join(receiverCapabilities(router));
      if (options.publish) {
        await peer.#publish(router, options.bitrate);
      }
      if (options.subscribe) {
        await peer.#subscribe(options.count ?? true);
      }
    } catch (error) {
      peer.close();
      throw error;
    }
    return peer;
  }

  async #link(producing: boolean): Promise<{ link: RtpLink; id: string; consumers: string[] }> {
    const { options, consumers } = await this.#signal.createTransport(producing);
    await this.#signal.connect(options.id, await RtpLink.dtlsParameters());
    const link = await RtpLink.open(options as unknown as ServerTransport);
    this.#links.push(link);
    return { link, id: options.id, consumers: consumers.map((c) => c.consumerId) };
  }

  async #publish(router: types.RtpCapabilities, bitrate: number): Promise<void> {
    const { link, id } = await this.#link(true);
    const opus = router.codecs!.find((c) => c.mimeType.toLowerCase() === 'audio/opus')!;
    const vp8 = router.codecs!.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;
    const levelId = router.headerExtensions!.find(
      (e) => e.uri === AUDIO_LEVEL_URI && e.kind === 'audio',
    )!.preferredId;
    const cname = randomBytes(8).toString('hex');

    const audio = new Stream();
    await this.#signal.produce(id, 'audio', {
      codecs: [
        { mimeType: opus.mimeType, payloadType: opus.preferredPayloadType!, clockRate: 48000, channels: 2 },
      ],
      headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: levelId }],
      encodings: [{ ssrc: audio.ssrc }],
      rtcp: { cname },
    });
    const voice = randomBytes(80);
    // Voice activity at -30 dBov, as a talking microphone.
    const level = [{ id: levelId, payload: Buffer.from([0x80 | 30]) }];
    this.#every(20, () => {
      audio.timestamp = (audio.timestamp + 960) >>> 0;
      link.sendRtp(
        {
          payloadType: opus.preferredPayloadType!,
          sequenceNumber: audio.next(),
          timestamp: audio.timestamp,
          ssrc: audio.ssrc,
          marker: false,
          extensions: level,
        },
        voice,
      );
      this.#forEachSubscriber++;
    });

    const layers = [bitrate / 10, bitrate / 3, bitrate].map((bps) => ({
      stream: new Stream(),
      bytesPerFrame: Math.max(PAYLOAD_BYTES / 2, Math.round(bps / 8 / FPS)),
      bps,
    }));
    await this.#signal.produce(id, 'video', {
      codecs: [
        {
          mimeType: vp8.mimeType,
          payloadType: vp8.preferredPayloadType!,
          clockRate: 90000,
          rtcpFeedback: [
            { type: 'nack' },
            { type: 'nack', parameter: 'pli' },
            { type: 'ccm', parameter: 'fir' },
          ],
        },
      ],
      headerExtensions: [],
      encodings: layers.map((l) => ({
        ssrc: l.stream.ssrc,
        maxBitrate: Math.round(l.bps),
        scalabilityMode: 'L1T1',
      })),
      rtcp: { cname },
    });
    let frame = 0;
    this.#every(1000 / FPS, () => {
      const key = frame % KEY_FRAME_EVERY_FRAMES === 0;
      const pictureId = frame & 0x7fff;
      frame++;
      for (const [index, { stream, bytesPerFrame }] of layers.entries()) {
        stream.timestamp = (stream.timestamp + 90000 / FPS) >>> 0;
        const packets = Math.ceil(bytesPerFrame / PAYLOAD_BYTES);
        if (index === layers.length - 1) {
          this.#forEachSubscriber += packets;
        }
        for (let i = 0; i < packets; i++) {
          link.sendRtp(
            {
              payloadType: vp8.preferredPayloadType!,
              sequenceNumber: stream.next(),
              timestamp: stream.timestamp,
              ssrc: stream.ssrc,
              marker: i === packets - 1,
            },
            vp8Payload(i === 0, key, pictureId, Math.ceil(bytesPerFrame / packets)),
          );
        }
      }
    });
  }

  /**
   * Calls `send` every `ms` on average: a late timer catches up on the ticks it missed (a few at
   * most), so a busy generator still offers the same load.
   */
  #every(ms: number, send: () => void): void {
    const start = performance.now();
    let sent = 0;
    this.#timers.push(
      setInterval(() => {
        const due = Math.floor((performance.now() - start) / ms) + 1;
        sent = Math.max(sent, due - MAX_CATCH_UP);
        for (; sent < due; sent++) {
          send();
        }
      }, ms),
    );
  }

  async #subscribe(count: boolean): Promise<void> {
    const { consumers, link } = await this.#link(false);
    if (!count) {
      link.stopReading();
    }
    this.consumers.push(...consumers);
    if (consumers.length > 0) {
      await this.#signal.resume(consumers);
    }
  }

  /** Packets sent so far that each subscriber of this publisher should receive. */
  sentForEachSubscriber(): number {
    return this.#forEachSubscriber;
  }

  /** RTP this peer received so far (sequence-number accounting, no decryption). */
  received(): Received {
    const total: Received = { packets: 0, lost: 0, bytes: 0 };
    for (const link of this.#links) {
      const c = link.counted();
      total.packets += c.packets;
      total.lost += c.lost;
      total.bytes += c.bytes;
    }
    return total;
  }

  close(): void {
    for (const timer of this.#timers) {
      clearInterval(timer);
    }
    for (const link of this.#links) {
      link.close();
    }
    this.#signal.close();
  }
}
