/**
 * Reads call analytics (written by the analytics consumer, services/events): calls with their
 * size and length, and one call's participants with their quality (p50/p95 of the samples).
 */
import type {
  CallDetail,
  CallParticipant,
  CallSummary,
  Percentiles,
  QualityPoint,
} from '@switchboard/protocol';
import type { Pool } from './index';

export type { CallDetail, CallParticipant, CallSummary, Percentiles, QualityPoint };

const SUMMARY = `
  SELECT c.id, c.room_id, r.name AS room_name, c.started_at, c.ended_at, c.peak_participants,
         EXTRACT(EPOCH FROM (COALESCE(c.ended_at, now()) - c.started_at))::float AS duration,
         (SELECT count(DISTINCT p.sub) FROM call_participants p WHERE p.call_id = c.id)::int AS participants
    FROM calls c LEFT JOIN rooms r ON r.id = c.room_id`;

type SummaryRow = {
  id: string;
  room_id: string;
  room_name: string | null;
  started_at: Date;
  ended_at: Date | null;
  peak_participants: number;
  duration: number;
  participants: number;
};

function summary(row: SummaryRow): CallSummary {
  return {
    id: row.id,
    roomId: row.room_id,
    roomName: row.room_name ?? undefined,
    startedAt: row.started_at.toISOString(),
    endedAt: row.ended_at?.toISOString(),
    durationSeconds: Math.round(row.duration),
    participants: row.participants,
    peakParticipants: row.peak_participants,
  };
}

export class CallStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Calls, newest first: of these rooms (none: every room), started in [since, until). */
  async list(
    filter: { roomIds?: string[]; since?: Date; until?: Date; limit?: number } = {},
  ): Promise<CallSummary[]> {
    const { rows } = await this.#pool.query<SummaryRow>(
      `${SUMMARY}
        WHERE ($1::text[] IS NULL OR c.room_id = ANY($1))
          AND ($2::timestamptz IS NULL OR c.started_at >= $2)
          AND ($3::timestamptz IS NULL OR c.started_at < $3)
        ORDER BY c.started_at DESC LIMIT $4`,
      [filter.roomIds ?? null, filter.since ?? null, filter.until ?? null, filter.limit ?? 50],
    );
    return rows.map(summary);
  }

  /** One call with its participants and their quality; undefined when there is no such call. */
  async get(callId: string): Promise<CallDetail | undefined> {
    const { rows } = await this.#pool.query<SummaryRow>(`${SUMMARY} WHERE c.id = $1`, [callId]);
    if (!rows[0]) {
      return undefined;
    }
    const participants = await this.#pool.query<{
      peer_id: string;
      sub: string;
      display_name: string;
      role: string;
      joined_at: Date;
      left_at: Date | null;
      left_reason: string | null;
      removed: boolean;
      samples: number;
      q: (number | null)[];
    }>(
      `SELECT p.peer_id, p.sub, p.display_name, p.role, p.joined_at, p.left_at, p.left_reason, p.removed,
              count(s.event_id)::int AS samples,
              ARRAY[
                percentile_cont(0.5) WITHIN GROUP (ORDER BY s.bitrate_kbps),
                percentile_cont(0.95) WITHIN GROUP (ORDER BY s.bitrate_kbps),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY s.loss_percent),
                percentile_cont(0.95) WITHIN GROUP (ORDER BY s.loss_percent),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY s.rtt_ms),
                percentile_cont(0.95) WITHIN GROUP (ORDER BY s.rtt_ms),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY s.jitter_ms),
                percentile_cont(0.95) WITHIN GROUP (ORDER BY s.jitter_ms),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY s.score),
                percentile_cont(0.05) WITHIN GROUP (ORDER BY s.score)
              ] AS q
         FROM call_participants p
         LEFT JOIN call_quality_samples s ON s.call_id = p.call_id AND s.peer_id = p.peer_id
        WHERE p.call_id = $1
        GROUP BY p.call_id, p.peer_id
        ORDER BY p.joined_at`,
      [callId],
    );
    const pair = (q: (number | null)[], i: number): Percentiles => ({ p50: q[i], p95: q[i + 1] });
    return {
      ...summary(rows[0]),
      participantList: participants.rows.map((p) => ({
        peerId: p.peer_id,
        sub: p.sub,
        displayName: p.display_name,
        role: p.role,
        joinedAt: p.joined_at.toISOString(),
        leftAt: p.left_at?.toISOString(),
        leftReason: p.left_reason ?? undefined,
        removed: p.removed,
        samples: p.samples,
        bitrateKbps: pair(p.q, 0),
        lossPercent: pair(p.q, 2),
        rttMs: pair(p.q, 4),
        jitterMs: pair(p.q, 6),
        score: pair(p.q, 8),
      })),
    };
  }

  /** A call's quality samples over time (for its timeline), oldest first, at most `limit`. */
  async samples(callId: string, limit = 5000): Promise<QualityPoint[]> {
    const { rows } = await this.#pool.query<{
      peer_id: string;
      sampled_at: Date;
      bitrate_kbps: number;
      loss_percent: number;
      rtt_ms: number | null;
    }>(
      `SELECT peer_id, sampled_at, bitrate_kbps, loss_percent, rtt_ms FROM call_quality_samples
        WHERE call_id = $1 ORDER BY sampled_at LIMIT $2`,
      [callId, limit],
    );
    return rows.map((r) => ({
      peerId: r.peer_id,
      at: r.sampled_at.toISOString(),
      bitrateKbps: r.bitrate_kbps,
      lossPercent: r.loss_percent,
      rttMs: r.rtt_ms,
    }));
  }
}
