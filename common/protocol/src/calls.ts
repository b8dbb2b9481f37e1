/**
 * Past calls as the gateway's /api/calls routes answer them (common/db's CallStore makes them;
 * the UI's /calls pages show them).
 */
export interface CallSummary {
  id: string;
  roomId: string;
  /** The meeting's label (the REST routes add it; a deleted meeting's calls stay). */
  roomName?: string;
  startedAt: string;
  endedAt?: string;
  durationSeconds: number;
  /** Distinct identities that were in it. */
  participants: number;
  peakParticipants: number;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

export interface CallParticipant {
  peerId: string;
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
  /** Higher is better (0..10): its p50 and p5 (the worst 5 %) as p95. */
  score: Percentiles;
}

/** One call with its participants (a person who reconnected has a row per connection). */
export interface CallDetail extends CallSummary {
  participantList: CallParticipant[];
}

/** One quality sample of one participant. */
export interface QualityPoint {
  peerId: string;
  at: string;
  bitrateKbps: number;
  lossPercent: number;
  rttMs: number | null;
}
