/**
 * "Meet someone": the `/match` socket.io namespace of signaling. A person (a signed-in account, or
 * a guest by the id its browser keeps) enters the queue (MatchQueue, shared by every instance
 * through Redis); when paired, the instance that made the pair opens a private room for the two
 * (placed on a media node like any room when they join it), mints a join token for each of them
 * only, and tells both, wherever their sockets are (the Redis adapter). Next, Leave, Block and
 * Report end the match for both: the room is ended and deleted with its chat (nothing of the
 * match is kept but a report), and the other is told. A dropped connection frees the partner once
 * the person has not come back within the grace period. Reports go to moderation, which keeps a
 * person reported by several people out for a while: they are told (`excluded`) and refused.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Namespace, Socket } from 'socket.io';
import type { z } from 'zod';
import { ACCESS_COOKIE, authenticateSession, signJoinToken } from '@switchboard/auth';
import type { RoomStore } from '@switchboard/db';
import { AppError, fromUnknown, parseOrThrow } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import {
  MATCH_NAMESPACE,
  matchRequestSchemas,
  type Ack,
  type MatchClientEvents,
  type MatchEndReason,
  type MatchRequestName,
  type MatchResponseMap,
  type MatchServerEvents,
  type ReportReason,
} from '@switchboard/protocol';
import { takePoint } from '@switchboard/runtime';
import { clientAddress, type TrustProxy } from '../clientAddress';
import { cookieValue } from '../cookies';
import type { HostControls } from '../HostControls';
import type { SignalingIo } from '../peer';
import type { Exclusion, Moderation } from './MatchModeration';
import { MatchQueue, type Match, type MatchSide } from './MatchQueue';

/** Who a `/match` socket is, and what it asked for last. */
interface MatchSocketData {
  identity: string;
  address: string;
  /** The name and interests of its last `start` (Next enters again with them). */
  wish?: { name: string; interests: string[] };
}
type MatchSocket = Socket<MatchClientEvents, MatchServerEvents, Record<string, never>, MatchSocketData>;
type MatchNamespace = Namespace<MatchClientEvents, MatchServerEvents, Record<string, never>, MatchSocketData>;

export interface MatchmakerOptions {
  io: SignalingIo;
  redis: Redis;
  rooms: RoomStore;
  /** Ends a match's call (its room) for whoever is still in it. */
  hostControls: HostControls;
  jwtSecret: string;
  /** Join tokens of a match live this long (s). */
  tokenTtlSeconds: number;
  /** A waiter with interests takes anyone after this long (ms). */
  fallbackMs: number;
  /** The same two are not paired again for this long (ms). */
  recentMs: number;
  /** A dropped connection keeps its match this long (ms) before the partner is freed. */
  graceMs: number;
  /** `start` and `next` per person per minute; a Next within a second of meeting costs five. */
  perMinute: number;
  /** Records reports; says who is kept out. */
  moderation: Moderation;
  trustProxy: TrustProxy;
  instanceId: string;
  logger: Logger;
  /** Key prefix of the queue (tests). */
  prefix?: string;
}

const roomKey = (prefix: string, matchId: string) => `${prefix}room:${matchId}`;
const identityRoom = (identity: string) => `mmid:${identity}`;
/** Where an identity last entered the queue from (a report's reported address). */
const addressKey = (prefix: string, identity: string) => `${prefix}addr:${identity}`;
const SWEEP_EVERY_MS = 250;
/** Requests of one socket waiting for the one before them to be answered. */
const MAX_PENDING = 8;
/** A Next this soon after meeting is a skip: it costs more of the rate limit. */
const SKIP_MS = 1000;
const SKIP_COST = 5;

export class Matchmaker {
  readonly #o: MatchmakerOptions;
  readonly #queue: MatchQueue;
  readonly #ns: MatchNamespace;
  readonly #limiter: RateLimiterRedis;
  readonly #prefix: string;
  readonly #graceTimers = new Map<string, NodeJS.Timeout>();
  #sweepTimer?: NodeJS.Timeout;
  #closed = false;

  constructor(options: MatchmakerOptions) {
    this.#o = options;
    this.#prefix = options.prefix ?? 'sb:mm:';
    this.#queue = new MatchQueue({
      redis: options.redis,
      fallbackMs: options.fallbackMs,
      recentMs: options.recentMs,
      prefix: this.#prefix,
    });
    this.#limiter = new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: 'sb:rl:match',
      points: options.perMinute,
      duration: 60,
    });
    this.#ns = options.io.of(MATCH_NAMESPACE) as unknown as MatchNamespace;
    this.#ns.use((socket, next) => {
      this.#authenticate(socket).then(
        () => next(),
        (error: unknown) => {
          const failure = fromUnknown(error);
          next(Object.assign(new Error(failure.message), { data: failure.toJSON() }));
        },
      );
    });
    this.#ns.on('connection', (socket) => this.#accept(socket));
    this.#sweepTimer = setInterval(() => void this.#sweep(), SWEEP_EVERY_MS);
    this.#sweepTimer.unref();
  }

  /** The queue (tests read it). */
  get queue(): MatchQueue {
    return this.#queue;
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    for (const timer of this.#graceTimers.values()) {
      clearTimeout(timer);
    }
  }

  /** A signed-in account (the access cookie), else a guest by the id its browser keeps. */
  async #authenticate(socket: MatchSocket): Promise<void> {
    const address = clientAddress(
      socket.handshake.address,
      socket.handshake.headers['x-forwarded-for'],
      this.#o.trustProxy,
    );
    const session = cookieValue(socket.handshake.headers.cookie, ACCESS_COOKIE);
    let identity: string | undefined;
    if (session) {
      const claims = await authenticateSession(this.#o.redis, session, this.#o.jwtSecret).catch(
        () => undefined,
      );
      identity = claims && `user:${claims.userId}`;
    }
    if (!identity) {
      const guestId = (socket.handshake.auth as { guestId?: unknown }).guestId;
      if (typeof guestId !== 'string' || !/^[0-9a-f-]{36}$/.test(guestId)) {
        throw new AppError('UNAUTHENTICATED', 'sign in, or send auth.guestId (a UUID your browser keeps)');
      }
      identity = `guest:${guestId}`;
    }
    socket.data = { identity, address };
  }

  #accept(socket: MatchSocket): void {
    const { identity } = socket.data;
    const logger = this.#o.logger.child({ identity });
    clearTimeout(this.#graceTimers.get(identity));
    this.#graceTimers.delete(identity);
    void socket.join(identityRoom(identity));
    const handlers: {
      [E in MatchRequestName]: (p: z.output<(typeof matchRequestSchemas)[E]>) => Promise<MatchResponseMap[E]>;
    } = {
      start: async (p) => {
        await this.#limit(identity, 1, logger);
        socket.data.wish = { name: p.name, interests: [...new Set(p.interests)] };
        await this.#admit(socket);
        return { state: await this.#enter(socket.data, logger) };
      },
      next: async () => {
        // When the match began, whichever instance made it (the match's own record in Redis).
        const matchedAt = await this.#queue.matchedAt(identity);
        await this.#limit(identity, matchedAt && Date.now() - matchedAt < SKIP_MS ? SKIP_COST : 1, logger);
        await this.#end(identity, 'next', {}, logger);
        if (!socket.data.wish) {
          throw new AppError('FAILED_PRECONDITION', 'send start first');
        }
        await this.#admit(socket);
        return { state: await this.#enter(socket.data, logger) };
      },
      leave: async () => (await this.#end(identity, 'left', {}, logger), {}),
      block: async (p) => (
        await this.#end(identity, 'left', { block: true, matchId: p.matchId }, logger),
        {}
      ),
      report: async (p) => (
        await this.#end(identity, 'left', { block: true, report: p.reason, matchId: p.matchId }, logger),
        {}
      ),
    };
    // One request of a socket at a time, in the order sent: a Leave right after a Next waits for
    // the Next, instead of finding nothing to leave while the Next then enters the queue.
    // At most MAX_PENDING wait: a flood is refused, not kept in memory.
    let previous: Promise<void> = Promise.resolve();
    let pending = 0;
    for (const event of Object.keys(handlers) as MatchRequestName[]) {
      (socket as unknown as { on(e: string, l: (...args: unknown[]) => void): void }).on(event, (...args) => {
        const ack = args.at(-1);
        if (typeof ack !== 'function') {
          return;
        }
        const payload = args.length > 1 ? args[0] : {};
        if (pending >= MAX_PENDING) {
          const busy = new AppError('RESOURCE_EXHAUSTED', 'too many requests at once; wait for the answers');
          (ack as (r: Ack<unknown>) => void)({ ok: false, error: busy.toJSON() });
          return;
        }
        pending++;
        previous = previous.then(async () => {
          let response: Ack<unknown>;
          try {
            const parsed = parseOrThrow(matchRequestSchemas[event], payload, `${event} payload`);
            const run = handlers[event] as (p: unknown) => Promise<unknown>;
            response = { ok: true, data: await run(parsed) };
          } catch (error) {
            const failure = fromUnknown(error);
            if (failure.code === 'INTERNAL') {
              logger.error({ err: error, event }, 'match request failed');
            }
            response = { ok: false, error: failure.toJSON() };
          }
          pending--;
          (ack as (r: Ack<unknown>) => void)(response);
        });
      });
    }
    socket.on('disconnect', () => {
      // Gone for good unless the same person is back (any instance) within the grace period.
      const timer = setTimeout(() => {
        this.#graceTimers.delete(identity);
        void (async () => {
          const back = await this.#ns.in(identityRoom(identity)).fetchSockets();
          if (back.length === 0) {
            await this.#end(identity, 'disconnected', {}, logger);
          }
        })().catch((error: unknown) => logger.warn({ err: error }, 'could not free a disconnected match'));
      }, this.#o.graceMs);
      timer.unref();
      this.#graceTimers.set(identity, timer);
    });
  }

  async #limit(identity: string, points: number, logger: Logger): Promise<void> {
    for (let i = 0; i < points; i++) {
      await takePoint(this.#limiter, identity, 'too many matches in a minute; slow down', logger);
    }
  }

  /**
   * Refuses one kept out of matchmaking (by identity or address), telling them until when; else
   * notes the address they come from (a report of them records it).
   */
  async #admit(socket: MatchSocket): Promise<void> {
    const { identity, address } = socket.data;
    const exclusion = await this.#o.moderation.excluded(identity, address);
    if (exclusion) {
      socket.emit('excluded', excludedEvent(exclusion));
      throw new AppError(
        'PERMISSION_DENIED',
        `you are kept out of Meet someone until ${exclusion.until.toISOString()}: ${exclusion.reason}`,
      );
    }
    await this.#o.redis.set(addressKey(this.#prefix, identity), address, 'EX', 86_400);
  }

  /** Enters the queue with the socket's wish; sets the match up when one is made now. */
  async #enter(data: MatchSocketData, logger: Logger): Promise<'waiting' | 'matched'> {
    const wish = data.wish!;
    const result = await this.#queue.enqueue(
      { ticket: randomUUID(), identity: data.identity, name: wish.name, tags: wish.interests },
      randomUUID(),
    );
    if (result.kind === 'busy') {
      if (result.current.startsWith('t:')) {
        return 'waiting';
      }
      throw new AppError('FAILED_PRECONDITION', 'you are in a match: press Next or Leave first');
    }
    if (result.kind === 'queued') {
      return 'waiting';
    }
    await this.#settle(result.match, logger);
    return (await this.#queue.current(data.identity))?.startsWith('m:') ? 'matched' : 'waiting';
  }

  /** Whether the identity has a `/match` socket on any instance (here: without asking the others). */
  async #connected(identity: string): Promise<boolean> {
    if ((this.#ns.adapter.rooms.get(identityRoom(identity))?.size ?? 0) > 0) {
      return true;
    }
    return (await this.#ns.in(identityRoom(identity)).fetchSockets()).length > 0;
  }

  /**
   * Sets a match up when both are still connected. A side that is gone (a waiter whose instance
   * stopped without taking it out of the queue) leaves; the other waits again as it asked, unaware.
   */
  async #settle(match: Match, logger: Logger): Promise<void> {
    const sides = [match.a, match.b];
    const connected = await Promise.all(sides.map((side) => this.#connected(side.identity)));
    if (connected.every(Boolean)) {
      await this.#setUp(match, logger);
      return;
    }
    // Ended here unless someone ended it first (the partner's Leave: then it stays out).
    let ended = false;
    for (const [i, side] of sides.entries()) {
      if (!connected[i]) {
        ended = (await this.#queue.leave(side.identity, { only: match.id })).kind === 'ended' || ended;
        logger.info({ matchId: match.id, gone: side.identity }, 'a waiter was gone; its partner waits again');
      }
    }
    for (const [i, side] of sides.entries()) {
      if (connected[i] && ended) {
        const again = await this.#queue.enqueue({ ...side, ticket: randomUUID() }, randomUUID());
        if (again.kind === 'matched') {
          await this.#settle(again.match, logger);
        }
      }
    }
  }

  /** Pairs those past the fallback (every instance runs it; the script decides who pairs whom). */
  async #sweep(): Promise<void> {
    if (this.#closed) {
      return;
    }
    try {
      const made = await this.#queue.sweep(`${this.#o.instanceId}:${randomUUID()}:`);
      await Promise.all(made.map((match) => this.#settle(match, this.#o.logger)));
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'matchmaking sweep failed');
    }
  }

  /** Opens the private room of a match and tells both, each with a token for them only. */
  async #setUp(match: Match, logger: Logger): Promise<void> {
    const room = await this.#o.rooms.create({ name: 'Match', policy: 'private', ownerId: null });
    await this.#o.redis.set(roomKey(this.#prefix, match.id), room.id, 'EX', 86_400);
    const token = async (side: MatchSide) =>
      (
        await signJoinToken(
          {
            room: room.id,
            sub: side.identity,
            name: side.name,
            role: 'participant',
            canPublish: true,
            canSubscribe: true,
          },
          this.#o.jwtSecret,
          this.#o.tokenTtlSeconds,
        )
      ).token;
    for (const [me, other] of [
      [match.a, match.b],
      [match.b, match.a],
    ] as const) {
      this.#ns.to(identityRoom(me.identity)).emit('matched', {
        matchId: match.id,
        roomId: room.id,
        token: await token(me),
        partner: { name: other.name },
        shared: match.shared,
      });
    }
    logger.info({ matchId: match.id, roomId: room.id, shared: match.shared.length }, 'match made');
    // Ended while the room was being opened (one of them left at once): close it again.
    if ((await this.#queue.current(match.a.identity)) !== `m:${match.id}`) {
      await this.#tearDown(match.id, logger);
    }
  }

  /**
   * Ends the identity's match (or wait): the partner is told `reason` (a block or report looks to
   * them like leaving), the room ends and goes, a report is recorded.
   */
  async #end(
    identity: string,
    reason: MatchEndReason,
    /** Block and Report: the match they are about (it may have ended a moment before). */
    options: { block?: boolean; report?: ReportReason; matchId?: string },
    logger: Logger,
  ): Promise<void> {
    const left = await this.#queue.leave(identity, { block: options.block, only: options.matchId });
    if (left.kind !== 'ended') {
      if (options.matchId && options.block) {
        // The other ended it first: the block (and report) of whom they just met still stand.
        const other = await this.#queue.blockEnded(identity, options.matchId);
        if (!other) {
          throw new AppError('NOT_FOUND', 'no recent match of yours has this id');
        }
        if (options.report) {
          await this.#report(identity, options.matchId, other, options.report, logger);
        }
        logger.info({ matchId: options.matchId, report: options.report }, 'blocked after the match ended');
        return;
      }
      if (options.report) {
        throw new AppError('FAILED_PRECONDITION', 'you are not in a match: nobody to report');
      }
      return;
    }
    this.#ns.to(identityRoom(left.partner.identity)).emit('matchEnded', { matchId: left.matchId, reason });
    if (options.report) {
      await this.#report(identity, left.matchId, left.partner.identity, options.report, logger);
    }
    await this.#tearDown(left.matchId, logger);
    logger.info(
      { matchId: left.matchId, reason, block: !!options.block, report: options.report },
      'match ended',
    );
  }

  /** Records a report; one it gets excluded by leaves the queue and is told. */
  async #report(
    reporter: string,
    matchId: string,
    reported: string,
    reason: ReportReason,
    logger: Logger,
  ): Promise<void> {
    const [reporterAddress, reportedAddress] = await this.#o.redis.mget(
      addressKey(this.#prefix, reporter),
      addressKey(this.#prefix, reported),
    );
    const exclusion = await this.#o.moderation.report({
      matchId,
      reporter,
      reported,
      reason,
      reporterAddress: reporterAddress ?? undefined,
      reportedAddress: reportedAddress ?? undefined,
    });
    if (exclusion) {
      this.#ns.to(identityRoom(reported)).emit('excluded', excludedEvent(exclusion));
      // Their page may have entered the queue again already (told the match ended), even been
      // matched again: out of that too.
      await this.#end(reported, 'left', {}, logger);
      logger.warn({ matchId, excluded: reported, until: exclusion.until }, 'excluded after reports');
    }
  }

  async #tearDown(matchId: string, logger: Logger): Promise<void> {
    const key = roomKey(this.#prefix, matchId);
    const roomId = await this.#o.redis.get(key);
    if (!roomId) {
      return;
    }
    await this.#o.redis.del(key);
    // The room goes first, so nobody can join it any more; then whoever is in it (or connected to
    // it, joining) is told the call ended. The other way round, a join between the two would stay.
    try {
      await this.#o.rooms.delete(roomId);
    } finally {
      await this.#o.hostControls.endRoom(roomId, 'The match ended');
    }
    logger.debug({ matchId, roomId }, 'match room closed');
  }
}

function excludedEvent(exclusion: Exclusion): { until: string; reason: string } {
  return { until: exclusion.until.toISOString(), reason: exclusion.reason };
}
