/**
 * "Meet someone" (random one-to-one calls): the socket.io namespace `/match` on signaling, shared
 * by the server (services/signaling/src/match) and the browser (/meet). Requests are acknowledged
 * like the call's (`Ack`); every payload is strict.
 */
import { z } from 'zod';
import type { Ack } from './index';

/** The socket.io namespace. */
export const MATCH_NAMESPACE = '/match';

/** An interest: a short lowercase tag. */
export const interestSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9 -]{0,23}$/, 'must be 1-24 letters, digits, spaces or dashes');

export const MAX_INTERESTS = 5;

/** Why a report is made (the moderation list shows it). */
export const reportReasonSchema = z.enum(['nudity', 'harassment', 'hate', 'spam', 'underage', 'other']);
export type ReportReason = z.infer<typeof reportReasonSchema>;

/** A match's id, as `matched` gave it. */
const matchIdSchema = z
  .string()
  .max(200, 'must be at most 200 characters')
  .regex(/^[A-Za-z0-9:._-]+$/, 'must be a match id, as `matched` gave it');

export const matchRequestSchemas = {
  /** Enter the queue (again). `rules`: the person accepted the rules. */
  start: z.strictObject({
    name: z.string().trim().min(1, 'must not be empty').max(40, 'must be at most 40 characters'),
    interests: z.array(interestSchema).max(MAX_INTERESTS, `at most ${MAX_INTERESTS} interests`),
    rules: z.literal(true, { message: 'accept the rules first' }),
  }),
  /** End this match (or wait) and look for someone else. */
  next: z.strictObject({}),
  /** Leave: out of the queue, out of the match. */
  leave: z.strictObject({}),
  /** End the match, and never meet this person again. */
  block: z.strictObject({
    /** The match it is about: the block stands even if the other ended it a moment before. */
    matchId: matchIdSchema.optional(),
  }),
  /** End the match and report the person to the operators. */
  report: z.strictObject({
    reason: reportReasonSchema,
    /** The match it is about: the report stands even if the other ended it a moment before. */
    matchId: matchIdSchema.optional(),
  }),
} as const;

export type MatchRequestName = keyof typeof matchRequestSchemas;
export type MatchRequestPayload<E extends MatchRequestName> = z.input<(typeof matchRequestSchemas)[E]>;

export interface MatchResponseMap {
  start: { state: 'waiting' | 'matched' };
  next: { state: 'waiting' | 'matched' };
  leave: Record<string, never>;
  block: Record<string, never>;
  report: Record<string, never>;
}

/** Why a match ended, as the one it ended for is told (a block or a report looks like leaving). */
export type MatchEndReason = 'left' | 'next' | 'disconnected';

/** A match was made: join its private room with this token. */
export interface MatchFound {
  matchId: string;
  roomId: string;
  token: string;
  partner: { name: string };
  /** The interests both gave. */
  shared: string[];
}

export type MatchClientEvents = {
  [E in MatchRequestName]: (
    payload: MatchRequestPayload<E>,
    ack: (response: Ack<MatchResponseMap[E]>) => void,
  ) => void;
};

export interface MatchServerEvents {
  matched: (event: MatchFound) => void;
  /**
   * Your match `matchId` ended (`reason`: what the other did, or that they are gone). Send `start`
   * to go on. It may arrive after `matched` of your next match (it can come through another
   * instance): one for a match you are no longer in is old news.
   */
  matchEnded: (event: { matchId: string; reason: MatchEndReason }) => void;
  /** Kept out of matchmaking (reports): until when, and why. */
  excluded: (event: { until: string; reason: string }) => void;
}
