/**
 * What the SFU's stats mean to someone in the call: a quality per participant (from mediasoup's
 * 0–10 scores) and readable figures for the stats panel.
 */
import type { PeerStats } from '@switchboard/protocol';

export type Quality = 'good' | 'fair' | 'poor';

export const QUALITY_LABELS: Record<Quality, string> = {
  good: 'Good connection',
  fair: 'Fair connection',
  poor: 'Poor connection',
};

function fromScore(score: number): Quality {
  if (score >= 8) {
    return 'good';
  }
  return score >= 5 ? 'fair' : 'poor';
}

/**
 * How well we receive `peerId`: the worst of its consumers' scores, each the lower of how it is
 * sent to the SFU and how the SFU gets it to us. Unknown (undefined) until measured.
 */
export function remoteQuality(stats: PeerStats | undefined, peerId: string): Quality | undefined {
  const scores = (stats?.consumers ?? [])
    .filter((c) => c.peerId === peerId && !c.paused && !c.producerPaused && c.stream)
    .map((c) => Math.min(c.score, c.producerScore));
  return scores.length > 0 ? fromScore(Math.min(...scores)) : undefined;
}

/** How well the SFU receives what we send: the best encoding of each producer, the worst producer. */
export function localQuality(stats: PeerStats | undefined): Quality | undefined {
  const scores = (stats?.producers ?? [])
    .filter((p) => !p.paused && p.streams.length > 0)
    .map((p) => Math.max(...p.streams.map((s) => s.score)));
  return scores.length > 0 ? fromScore(Math.min(...scores)) : undefined;
}

export function formatBitrate(bps: number): string {
  if (bps >= 1_000_000) {
    return `${(bps / 1_000_000).toFixed(1)} Mbit/s`;
  }
  return `${Math.round(bps / 1000)} kbit/s`;
}

export function formatLoss(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`;
}
