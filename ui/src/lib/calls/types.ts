/** Past calls as GET /api/calls and /api/calls/<id> answer. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

export interface CallSummary {
  id: string;
  roomId: string;
  roomName?: string;
  startedAt: string;
  endedAt?: string;
  durationSeconds: number;
  participants: number;
  peakParticipants: number;
}

export interface CallParticipant {
  peerId: string;
  /** The identity: the same person across reconnects (each connection is its own row). */
  sub: string;
  displayName: string;
  role: string;
  joinedAt: string;
  leftAt?: string;
  leftReason?: string;
  removed: boolean;
  samples: number;
  bitrateKbps: Percentiles;
  lossPercent: Percentiles;
  rttMs: Percentiles;
  jitterMs: Percentiles;
  score: Percentiles;
}

export interface QualityPoint {
  peerId: string;
  at: string;
  bitrateKbps: number;
  lossPercent: number;
  rttMs: number | null;
}

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s} s`;
  }
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
