/**
 * The Matchmaker's view of moderation: records reports and says who is kept out, with the policy
 * that turns reports into an automatic exclusion. The state is Postgres's (MatchReportStore,
 * MatchExclusionStore, which operators also read and change through the gateway).
 */
import type { ExclusionPolicy, MatchExclusionStore, MatchReportStore } from '@switchboard/db';

/** A report, as the Matchmaker makes it (what the moderation list keeps). */
export type MatchReport = Parameters<MatchReportStore['record']>[0];

/** Kept out of matchmaking until when, and why. */
export interface Exclusion {
  until: Date;
  reason: string;
}

export interface Moderation {
  /** Records a report; the exclusion it brought about, if any. */
  report(report: MatchReport): Promise<Exclusion | undefined>;
  /** The exclusion in force for this identity or address, if any. */
  excluded(identity: string, address: string): Promise<Exclusion | undefined>;
}

export class MatchModeration implements Moderation {
  readonly #reports: MatchReportStore;
  readonly #exclusions: MatchExclusionStore;
  readonly #policy: ExclusionPolicy;

  constructor(reports: MatchReportStore, exclusions: MatchExclusionStore, policy: ExclusionPolicy) {
    this.#reports = reports;
    this.#exclusions = exclusions;
    this.#policy = policy;
  }

  async report(report: MatchReport): Promise<Exclusion | undefined> {
    const byAddress = this.#policy.byAddress;
    const recorded = await this.#reports.record({
      ...report,
      reporterAddress: byAddress ? report.reporterAddress : undefined,
      reportedAddress: byAddress ? report.reportedAddress : undefined,
    });
    if (!recorded) {
      return undefined; // the same report twice
    }
    return this.#exclusions.afterReport(
      report.reported,
      byAddress ? report.reportedAddress : undefined,
      this.#policy,
    );
  }

  excluded(identity: string, address: string): Promise<Exclusion | undefined> {
    return this.#exclusions.active(identity, this.#policy.byAddress ? address : undefined);
  }
}
