/**
 * Reports made in "Meet someone": who reported whom, why, in which match. Written by signaling's
 * Matchmaker when a person presses Report; read by operators (the moderation list). One report
 * per person per match (pressing it twice records it once).
 */
import type { Pool } from 'pg';

export interface MatchReportRecord {
  id: string;
  matchId: string;
  reporter: string;
  reported: string;
  reason: string;
  createdAt: Date;
}

interface Row {
  id: string;
  match_id: string;
  reporter: string;
  reported: string;
  reason: string;
  created_at: Date;
}

const toRecord = (row: Row): MatchReportRecord => ({
  id: row.id,
  matchId: row.match_id,
  reporter: row.reporter,
  reported: row.reported,
  reason: row.reason,
  createdAt: row.created_at,
});

export class MatchReportStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Records a report; false when this person already reported this match. */
  async record(report: {
    matchId: string;
    reporter: string;
    reported: string;
    reason: string;
    /** Where each was connected from (reports count once per reporting address). */
    reporterAddress?: string;
    reportedAddress?: string;
  }): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      `INSERT INTO match_reports (match_id, reporter, reported, reason, reporter_address, reported_address)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (match_id, reporter) DO NOTHING`,
      [
        report.matchId,
        report.reporter,
        report.reported,
        report.reason,
        report.reporterAddress ?? null,
        report.reportedAddress ?? null,
      ],
    );
    return (rowCount ?? 0) > 0;
  }

  /** The newest reports first; only those about `reported` when given. */
  async list(limit: number, reported?: string): Promise<MatchReportRecord[]> {
    const { rows } = reported
      ? await this.#pool.query<Row>(
          'SELECT * FROM match_reports WHERE reported = $1 ORDER BY created_at DESC, id DESC LIMIT $2',
          [reported, limit],
        )
      : await this.#pool.query<Row>(
          'SELECT * FROM match_reports ORDER BY created_at DESC, id DESC LIMIT $1',
          [limit],
        );
    return rows.map(toRecord);
  }
}
