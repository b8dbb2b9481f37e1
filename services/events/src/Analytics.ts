/**
 * Call analytics from the event stream, kept in Postgres (the `calls`, `call_participants` and
 * `call_quality_samples` tables have no other writer). A call is a room's stretch of activity from
 * its first participant to its last; a room that empties and fills again within `reopenMs` (its
 * people rejoining after a media node was lost, a reload of the last person in it) goes on as the
 * same call. Each event is handled in one transaction with the insert of its id into
 * `analytics_events`: delivered twice (at-least-once), it changes nothing the second time.
 */
import { withTransaction, type Pool, type PoolClient } from '@switchboard/db';
import type { SwitchboardEvent } from '@switchboard/events';

export interface AnalyticsOptions {
  pool: Pool;
  /** A room empty for less than this goes on as the same call when it fills again. */
  reopenMs: number;
}

type Of<T extends SwitchboardEvent['type']> = Extract<SwitchboardEvent, { type: T }>;

export class Analytics {
  readonly #pool: Pool;
  readonly #reopenMs: number;

  constructor(options: AnalyticsOptions) {
    this.#pool = options.pool;
    this.#reopenMs = options.reopenMs;
  }

  /** Applies one event; false when it had been applied already (a redelivery). */
  async handle(event: SwitchboardEvent): Promise<boolean> {
    return withTransaction(this.#pool, async (db) => {
      const fresh = await db.query(
        'INSERT INTO analytics_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING',
        [event.id],
      );
      if (fresh.rowCount === 0) {
        return false;
      }
      if (event.roomId) {
        // One room's events apply one at a time, whichever consumer handles them.
        await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [event.roomId]);
      }
      switch (event.type) {
        case 'room.started':
          await this.#started(db, event);
          break;
        case 'room.ended':
          // Ends the call going on; an end with none (already ended) starts nothing.
          await db.query(
            `UPDATE calls SET ended_at = $2
              WHERE id = (SELECT id FROM calls WHERE room_id = $1 AND ended_at IS NULL
                           ORDER BY started_at DESC LIMIT 1)`,
            [event.roomId, event.time],
          );
          break;
        case 'participant.joined':
          await this.#joined(db, event);
          break;
        case 'participant.left':
          await this.#left(db, event);
          break;
        case 'participant.removed':
          await db.query(
            `UPDATE call_participants SET removed = true
              WHERE peer_id = $1 AND call_id IN (SELECT id FROM calls WHERE room_id = $2)`,
            [event.peerId, event.roomId],
          );
          break;
        case 'quality.sample':
          await this.#sample(db, event);
          break;
        default:
          break; // tracks, admissions, nodes: not part of a call's record (yet)
      }
      return true;
    });
  }

  /** Deletes the ids of events handled more than `olderThanMs` ago (redeliveries come within minutes). */
  async prune(olderThanMs: number): Promise<number> {
    const { rowCount } = await this.#pool.query(
      `DELETE FROM analytics_events WHERE handled_at < now() - make_interval(secs => $1)`,
      [olderThanMs / 1000],
    );
    return rowCount ?? 0;
  }

  async #started(db: PoolClient, event: Of<'room.started'>): Promise<void> {
    const { rows } = await db.query<{ id: string; ended_at: Date | null }>(
      'SELECT id, ended_at FROM calls WHERE room_id = $1 ORDER BY started_at DESC LIMIT 1 FOR UPDATE',
      [event.roomId],
    );
    const last = rows[0];
    if (last && last.ended_at === null) {
      return; // still going (an end we never saw, or a start delivered out of turn)
    }
    if (last?.ended_at && Date.parse(event.time) - last.ended_at.getTime() <= this.#reopenMs) {
      await db.query('UPDATE calls SET ended_at = NULL WHERE id = $1', [last.id]);
      return;
    }
    await db.query('INSERT INTO calls (room_id, started_at) VALUES ($1, $2)', [event.roomId, event.time]);
  }

  /** The room's call going on at `time`; one is started when none is (its start was never seen). */
  async #openCall(db: PoolClient, roomId: string, time: string): Promise<string> {
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM calls WHERE room_id = $1 AND ended_at IS NULL
        ORDER BY started_at DESC LIMIT 1 FOR UPDATE`,
      [roomId],
    );
    if (rows[0]) {
      return rows[0].id;
    }
    const created = await db.query<{ id: string }>(
      'INSERT INTO calls (room_id, started_at) VALUES ($1, $2) RETURNING id',
      [roomId, time],
    );
    return created.rows[0].id;
  }

  async #joined(db: PoolClient, event: Of<'participant.joined'>): Promise<void> {
    const callId = await this.#openCall(db, event.roomId!, event.time);
    const { sub, displayName, role } = event.data;
    const added = await db.query(
      `INSERT INTO call_participants (call_id, peer_id, sub, display_name, role, joined_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [callId, event.peerId, sub, displayName, role, event.time],
    );
    if (added.rowCount === 1) {
      await db.query(
        `UPDATE calls SET current_participants = current_participants + 1,
                          peak_participants = GREATEST(peak_participants, current_participants + 1)
          WHERE id = $1`,
        [callId],
      );
    }
  }

  async #left(db: PoolClient, event: Of<'participant.left'>): Promise<void> {
    const { rows } = await db.query<{ call_id: string }>(
      `UPDATE call_participants SET left_at = $3, left_reason = $4
        WHERE peer_id = $1 AND left_at IS NULL
          AND call_id IN (SELECT id FROM calls WHERE room_id = $2)
        RETURNING call_id`,
      [event.peerId, event.roomId, event.time, event.data.reason],
    );
    if (rows[0]) {
      await db.query(
        'UPDATE calls SET current_participants = GREATEST(current_participants - 1, 0) WHERE id = $1',
        [rows[0].call_id],
      );
    }
  }

  async #sample(db: PoolClient, event: Of<'quality.sample'>): Promise<void> {
    const { bitrateKbps, lossPercent, rttMs, jitterMs, score } = event.data;
    await db.query(
      `INSERT INTO call_quality_samples
         (event_id, call_id, peer_id, sampled_at, bitrate_kbps, loss_percent, rtt_ms, jitter_ms, score)
       SELECT $1, p.call_id, $2, $3, $4, $5, $6, $7, $8
         FROM call_participants p JOIN calls c ON c.id = p.call_id
        WHERE p.peer_id = $2 AND c.room_id = $9
        ORDER BY p.joined_at DESC LIMIT 1
       ON CONFLICT DO NOTHING`,
      [event.id, event.peerId, event.time, bitrateKbps, lossPercent, rttMs, jitterMs, score, event.roomId],
    );
  }
}
