/**
 * The moderation of "Meet someone", for operators only: the reports people made of whom they were
 * matched with (who, whom, why, when, the match), newest first, or those about one identity; and
 * the exclusions those reports brought about, which operators lift or extend. Signaling's
 * Matchmaker records reports and makes the automatic exclusions.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type {
  MatchExclusionRecord,
  MatchExclusionStore,
  MatchReportRecord,
  MatchReportStore,
} from '@switchboard/db';
import { NotFoundError, parseOrThrow } from '@switchboard/errors';
import type { Accounts } from './Accounts';
import { requireOperator } from './authRoutes';

const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    reported: z
      .string()
      .regex(/^(user|guest):[0-9a-f-]{36}$/, 'must be an identity (user:<id> or guest:<id>)')
      .optional(),
  })
  .strict();

const exclusionsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    /** `all`: lifted and ended ones too. */
    all: z.enum(['true', 'false']).default('false'),
  })
  .strict();

const exclusionParams = z.object({ id: z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be an exclusion id') });

const extendBody = z
  .object({
    hours: z
      .number()
      .int()
      .min(1, 'at least 1 hour')
      .max(24 * 90, 'at most 90 days'),
  })
  .strict();

function exclusionJson(exclusion: MatchExclusionRecord) {
  return {
    id: exclusion.id,
    identity: exclusion.identity,
    address: exclusion.address ?? null,
    reason: exclusion.reason,
    createdBy: exclusion.createdBy,
    createdAt: exclusion.createdAt.toISOString(),
    until: exclusion.until.toISOString(),
    liftedAt: exclusion.liftedAt?.toISOString() ?? null,
    liftedBy: exclusion.liftedBy ?? null,
  };
}

function reportJson(report: MatchReportRecord) {
  return {
    id: report.id,
    matchId: report.matchId,
    reporter: report.reporter,
    reported: report.reported,
    reason: report.reason,
    createdAt: report.createdAt.toISOString(),
  };
}

export function matchReportRoutes(
  app: FastifyInstance,
  deps: { accounts: Accounts; reports: MatchReportStore; exclusions: MatchExclusionStore },
): void {
  app.get('/api/admin/match-reports', async (request) => {
    await requireOperator(deps.accounts, request);
    const query = parseOrThrow(listQuery, request.query, 'query');
    return { reports: (await deps.reports.list(query.limit, query.reported)).map(reportJson) };
  });

  app.get('/api/admin/match-exclusions', async (request) => {
    await requireOperator(deps.accounts, request);
    const query = parseOrThrow(exclusionsQuery, request.query, 'query');
    const list = await deps.exclusions.list({ activeOnly: query.all === 'false', limit: query.limit });
    return { exclusions: list.map(exclusionJson) };
  });

  app.post('/api/admin/match-exclusions/:id/lift', async (request) => {
    const operator = await requireOperator(deps.accounts, request);
    const { id } = parseOrThrow(exclusionParams, request.params, 'path');
    const lifted = await deps.exclusions.lift(id, operator.userId);
    if (!lifted) {
      throw new NotFoundError(`no exclusion ${id} in force`);
    }
    request.log.info({ exclusion: id, identity: lifted.identity }, 'match exclusion lifted');
    return { exclusion: exclusionJson(lifted) };
  });

  app.post('/api/admin/match-exclusions/:id/extend', async (request) => {
    await requireOperator(deps.accounts, request);
    const { id } = parseOrThrow(exclusionParams, request.params, 'path');
    const { hours } = parseOrThrow(extendBody, request.body, 'body');
    const extended = await deps.exclusions.extend(id, hours * 3_600_000);
    if (!extended) {
      throw new NotFoundError(`no exclusion ${id} in force`);
    }
    request.log.info(
      { exclusion: id, identity: extended.identity, until: extended.until },
      'match exclusion extended',
    );
    return { exclusion: exclusionJson(extended) };
  });
}
