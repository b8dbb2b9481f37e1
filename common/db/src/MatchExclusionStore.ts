/**
 * Who is kept out of "Meet someone", until when. The one owner of exclusions: signaling's
 * Matchmaker asks it whether a person may enter the queue and tells it of each report (which
 * excludes the reported person automatically once enough different people reported them within the
 * window); operators list, lift and extend exclusions through the gateway. An exclusion covers
 * its identity and, when known, its address (a guest can make a new identity at will, not a new
 * address). Reports count once per reporting address: one person with many guest identities is
 * one person.
 */
import type { Pool } from 'pg';
import { withTransaction } from './index';

/** When reports exclude someone automatically, and for how long. */
export interface ExclusionPolicy {
  /** Reports from this many different people (addresses) ... */
  reports: number;
  /** ... within this long (ms) ... */
  windowMs: number;
  /** ... keep the reported person out this long (ms). */
  durationMs: number;
  /**
   * Whether addresses count: reports once per reporting address, and the exclusion covering the
   * address too. Off where everyone shares one address (one NAT, a test machine): then identities.
   */
  byAddress: boolean;
}

export interface MatchExclusionRecord {
  id: string;
  identity: string;
  address?: string;
  reason: string;
  /** `auto` (reports) or the operator's user id. */
  createdBy: string;
  createdAt: Date;
  until: Date;
  liftedAt?: Date;
  liftedBy?: string;
}

interface Row {
  id: string;
  identity: string;
  address: string | null;
  reason: string;
  created_by: string;
  created_at: Date;
  until: Date;
  lifted_at: Date | null;
  lifted_by: string | null;
}

const toRecord = (row: Row): MatchExclusionRecord => ({
  id: row.id,
  identity: row.identity,
  address: row.address ?? undefined,
  reason: row.reason,
  createdBy: row.created_by,
  createdAt: row.created_at,
  until: row.until,
  liftedAt: row.lifted_at ?? undefined,
  liftedBy: row.lifted_by ?? undefined,
});

/** In force: not lifted, not over. */
const ACTIVE = 'lifted_at IS NULL AND until > now()';

export class MatchExclusionStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** The exclusion in force for this identity or address (the one lasting longest), if any. */
  async active(identity: string, address?: string): Promise<MatchExclusionRecord | undefined> {
    const { rows } = await this.#pool.query<Row>(
      `SELECT * FROM match_exclusions
        WHERE (identity = $1 OR ($2::text IS NOT NULL AND address = $2)) AND ${ACTIVE}
        ORDER BY until DESC LIMIT 1`,
      [identity, address ?? null],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * After a report of `identity` (at `address`): excludes it when reports from `policy.reports`
   * different addresses came within the window and it is not excluded already. Returns the new
   * exclusion, else undefined. Serialized per identity, so two reports at once make one exclusion.
   */
  async afterReport(
    identity: string,
    address: string | undefined,
    policy: ExclusionPolicy,
  ): Promise<MatchExclusionRecord | undefined> {
    return withTransaction(this.#pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`match-exclusion:${identity}`]);
      const { rows: inForce } = await client.query<Row>(
        `SELECT id FROM match_exclusions WHERE identity = $1 AND ${ACTIVE} LIMIT 1`,
        [identity],
      );
      if (inForce.length > 0) {
        return undefined;
      }
      const { rows: counted } = await client.query<{ people: number }>(
        `SELECT count(DISTINCT coalesce(reporter_address, reporter))::int AS people FROM match_reports
          WHERE (reported = $1 OR ($2::text IS NOT NULL AND reported_address = $2))
            AND created_at > now() - make_interval(secs => $3::double precision / 1000)`,
        [identity, address ?? null, policy.windowMs],
      );
      const people = counted[0]?.people ?? 0;
      if (people < policy.reports) {
        return undefined;
      }
      const { rows } = await client.query<Row>(
        `INSERT INTO match_exclusions (identity, address, reason, created_by, until)
          VALUES ($1, $2, $3, 'auto', now() + make_interval(secs => $4::double precision / 1000))
          RETURNING *`,
        [
          identity,
          address ?? null,
          `reported by ${people} ${people === 1 ? 'person' : 'people'}`,
          policy.durationMs,
        ],
      );
      return toRecord(rows[0]);
    });
  }

  /** The newest exclusions first: only those in force, or all (lifted and over too). */
  async list(options: { activeOnly: boolean; limit: number }): Promise<MatchExclusionRecord[]> {
    const { rows } = await this.#pool.query<Row>(
      `SELECT * FROM match_exclusions ${options.activeOnly ? `WHERE ${ACTIVE}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT $1`,
      [options.limit],
    );
    return rows.map(toRecord);
  }

  /** Lifts an exclusion in force; undefined when there is none with this id in force. */
  async lift(id: string, by: string): Promise<MatchExclusionRecord | undefined> {
    const { rows } = await this.#pool.query<Row>(
      `UPDATE match_exclusions SET lifted_at = now(), lifted_by = $2 WHERE id = $1 AND ${ACTIVE} RETURNING *`,
      [id, by],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** Makes an exclusion in force last `ms` longer; undefined when there is none with this id in force. */
  async extend(id: string, ms: number): Promise<MatchExclusionRecord | undefined> {
    const { rows } = await this.#pool.query<Row>(
      `UPDATE match_exclusions SET until = until + make_interval(secs => $2::double precision / 1000)
        WHERE id = $1 AND ${ACTIVE} RETURNING *`,
      [id, ms],
    );
    return rows[0] && toRecord(rows[0]);
  }
}
