/**
 * Call quality for analytics, from what the SFU measures: when a participant's browser asks for
 * its stats (it does every few seconds while in a call), at most one `quality.sample` per
 * participant per `everyMs` goes onto the event stream. One sample is the participant's worst
 * moment across what it sends and receives: total bitrate, the highest loss, round-trip time and
 * jitter of any of its streams, and the lowest score. Asking more often does not sample more often.
 */
import type { EventSink } from '@switchboard/events';
import type { client as prom } from '@switchboard/metrics';
import type { PeerStats, RtpStreamStats } from '@switchboard/protocol';
import type { PeerState } from './peer';

/** RTP clock rates (mediasoup reports jitter in RTP timestamp units). */
const CLOCK_HZ = { audio: 48_000, video: 90_000 } as const;

export type QualitySample = {
  bitrateKbps: number;
  lossPercent: number;
  rttMs?: number;
  jitterMs?: number;
  score?: number;
};

/** One participant's sample from its stats; undefined when nothing flows yet. */
export function qualityOf(stats: PeerStats): QualitySample | undefined {
  const streams: { kind: 'audio' | 'video'; stream: RtpStreamStats; score: number }[] = [
    ...stats.producers.flatMap((p) =>
      p.streams.map((stream) => ({ kind: p.kind, stream, score: stream.score })),
    ),
    ...stats.consumers.flatMap((c) => (c.stream ? [{ kind: c.kind, stream: c.stream, score: c.score }] : [])),
  ];
  if (streams.length === 0) {
    return undefined;
  }
  const max = (values: number[]) => (values.length > 0 ? Math.max(...values) : undefined);
  const round = (value: number | undefined, digits = 1) =>
    value === undefined ? undefined : Math.round(value * 10 ** digits) / 10 ** digits;
  const rtt = max(streams.flatMap(({ stream }) => (stream.roundTripTime ? [stream.roundTripTime] : [])));
  const jitter = max(streams.map(({ kind, stream }) => (stream.jitter / CLOCK_HZ[kind]) * 1000));
  return {
    bitrateKbps: round(streams.reduce((sum, { stream }) => sum + stream.bitrate, 0) / 1000)!,
    lossPercent: Math.min(100, round(max(streams.map(({ stream }) => stream.fractionLost * 100)))!),
    rttMs: round(rtt),
    jitterMs: round(jitter),
    score: Math.min(...streams.map(({ score }) => score)),
  };
}

export class QualitySamples {
  readonly #events: EventSink;
  readonly #everyMs: number;
  /** When each participant (by peer id) was last sampled; forgotten as it leaves. */
  readonly #last = new Map<string, number>();

  /** The loss of every sample (the media-loss SLI of docs/slo.md). */
  readonly #loss?: prom.Histogram;

  constructor(options: { events: EventSink; everyMs: number; loss?: prom.Histogram }) {
    this.#events = options.events;
    this.#everyMs = options.everyMs;
    this.#loss = options.loss;
  }

  /** The stats a participant asked for: sampled if its last sample is old enough. Returns them. */
  observe(peer: PeerState, stats: PeerStats): PeerStats {
    const now = Date.now();
    if (now - (this.#last.get(peer.peerId) ?? 0) < this.#everyMs) {
      return stats;
    }
    const sample = qualityOf(stats);
    if (sample) {
      this.#last.set(peer.peerId, now);
      this.#events.append({ type: 'quality.sample', roomId: peer.roomId, peerId: peer.peerId, data: sample });
      this.#loss?.observe(sample.lossPercent);
    }
    return stats;
  }

  forget(peerId: string): void {
    this.#last.delete(peerId);
  }
}
