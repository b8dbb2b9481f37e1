/**
 * A crowd of synthetic "Meet someone" users (socket.io clients of `/match`, no media), for the
 * load integration test (MatchLoad.test.ts) and the benchmark (`npm run bench -- match`). Each
 * user arrives, enters the queue, and when matched stays a while and presses Next (or Block, or
 * Report when it meets a designated villain); when the other ends the match, it enters again.
 * The crowd checks what must never happen as it goes (`violations`) and times each wait.
 *
 * The load generator must cost less than what it measures: bare emits with acknowledgement
 * callbacks, one timer per user.
 */
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { MatchFound } from '@switchboard/protocol';

export interface CrowdOptions {
  /** Signaling base URLs; users are spread over them in turn. */
  urls: string[];
  users: number;
  /** Arrivals are spread evenly over this long (ms). */
  arrivalMs: number;
  /** A user stays in a match between these (ms) before pressing Next. */
  holdMs: [number, number];
  /** Interests to draw from; a user with interests has one or two. */
  interests: string[];
  /** The share of users with interests (0–1). */
  interestShare: number;
  /** The share of matches a user ends with Block instead of Next (0–1). */
  blockShare: number;
  /** Users (by index) everyone who meets them reports. */
  villains: number[];
  /** Each user's address, as NGINX would forward it (distinct: one person each). */
  address: (i: number) => string;
  /** Told of each match made (both sides' names, and whether one of them is joining the call). */
  onMatch?: (match: MatchFound, user: CrowdUser) => void;
}

/** What one user saw and did. */
export interface CrowdUser {
  index: number;
  name: string;
  /** `guest:<id>`, as the matchmaker knows it. */
  identity: string;
  interests: string[];
  socket: Socket;
  /** The match it is in now, as far as it knows. */
  current?: MatchFound;
  /** When it last asked to be matched (start or next), for the wait. */
  askedAt?: number;
  excluded: boolean;
  /** Refusals by `<code>: <message>`. */
  refusals: Map<string, number>;
}

export interface MatchRecord {
  id: string;
  /** The names of those told of it. */
  told: string[];
  shared: string[];
  at: number;
}

type Answer = { ok: boolean; error?: { code: string; message: string } };

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
const between = ([min, max]: [number, number]) => min + Math.random() * (max - min);

export class MatchCrowd {
  readonly users: CrowdUser[] = [];
  readonly violations: string[] = [];
  readonly matches = new Map<string, MatchRecord>();
  /** Asked → matched (ms), every wait. */
  readonly waits: number[] = [];
  /** The same, with when the match came (ms since epoch), for windows of the run. */
  readonly waitsAt: { at: number; ms: number; withInterests: boolean; shared: boolean }[] = [];
  /** Pairs (names, sorted, joined by `|`) one of them blocked. */
  readonly blocked = new Set<string>();
  /** Reports made, by villain name. */
  readonly reports = new Map<string, number>();
  readonly #o: CrowdOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopping = false;

  constructor(options: CrowdOptions) {
    this.#o = options;
  }

  /** Connects every user (in batches), then lets them arrive over `arrivalMs`. */
  async connect(): Promise<void> {
    const batch = 100;
    for (let from = 0; from < this.#o.users; from += batch) {
      const connecting: Promise<void>[] = [];
      for (let i = from; i < Math.min(from + batch, this.#o.users); i++) {
        connecting.push(this.#connectUser(i));
      }
      await Promise.all(connecting);
    }
  }

  /** Everyone enters the queue, spread over `arrivalMs`. */
  arrive(): void {
    for (const user of this.users) {
      this.#later((user.index / this.#o.users) * this.#o.arrivalMs, () => this.#ask(user, 'start'));
    }
  }

  /** Everyone leaves the queue or their match, and disconnects. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#timers) {
      clearTimeout(timer);
    }
    await Promise.all(
      this.users.map(
        (user) =>
          new Promise<void>((resolve) => {
            user.socket.timeout(10_000).emit('leave', {}, () => resolve());
          }),
      ),
    );
    for (const user of this.users) {
      user.socket.disconnect();
    }
  }

  /** The name of user `i`. */
  static nameOf(i: number): string {
    return `u${i}`;
  }

  async #connectUser(i: number): Promise<void> {
    const o = this.#o;
    const guestId = randomUUID();
    const socket = io(`${o.urls[i % o.urls.length]}/match`, {
      auth: { guestId },
      extraHeaders: { 'x-forwarded-for': o.address(i) },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    const withInterests = Math.random() < o.interestShare;
    const interests = withInterests
      ? [...new Set([pick(o.interests), ...(Math.random() < 0.5 ? [pick(o.interests)] : [])])]
      : [];
    const user: CrowdUser = {
      index: i,
      name: MatchCrowd.nameOf(i),
      identity: `guest:${guestId}`,
      interests,
      socket,
      excluded: false,
      refusals: new Map(),
    };
    this.users.push(user);
    socket.on('matched', (match: MatchFound) => this.#matched(user, match));
    socket.on('matchEnded', ({ matchId }: { matchId: string }) => {
      if (user.current?.matchId !== matchId) {
        return; // a match it left itself (Next), told after its next one began
      }
      user.current = undefined;
      if (!this.#stopping && !user.excluded) {
        this.#later(Math.random() * 200, () => this.#ask(user, 'start'));
      }
    });
    socket.on('excluded', () => {
      user.excluded = true;
      user.current = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => reject(error));
    });
  }

  #matched(user: CrowdUser, match: MatchFound): void {
    const now = Date.now();
    if (user.current) {
      this.violations.push(`${user.name} matched in ${match.matchId} while still in ${user.current.matchId}`);
    }
    user.current = match;
    const record = this.matches.get(match.matchId) ?? {
      id: match.matchId,
      told: [],
      shared: match.shared,
      at: now,
    };
    record.told.push(user.name);
    this.matches.set(match.matchId, record);
    if (record.told.length > 2) {
      this.violations.push(`match ${match.matchId} told to ${record.told.join(', ')}`);
    }
    if (record.told.length === 2 && record.told[0] !== match.partner.name) {
      this.violations.push(
        `match ${match.matchId}: ${user.name} was told its partner is ${match.partner.name}`,
      );
    }
    const pair = [user.name, match.partner.name].sort().join('|');
    if (this.blocked.has(pair)) {
      this.violations.push(`${pair} met again after a block (match ${match.matchId})`);
    }
    if (user.askedAt !== undefined) {
      const ms = now - user.askedAt;
      this.waits.push(ms);
      this.waitsAt.push({
        at: now,
        ms,
        withInterests: user.interests.length > 0,
        shared: match.shared.length > 0,
      });
      user.askedAt = undefined;
    }
    this.#o.onMatch?.(match, user);
    const villain = this.#o.villains.map(MatchCrowd.nameOf).includes(match.partner.name);
    this.#later(villain ? 100 + Math.random() * 400 : between(this.#o.holdMs), () => {
      if (user.current?.matchId !== match.matchId || this.#stopping) {
        return; // the other ended it first
      }
      if (villain) {
        this.reports.set(match.partner.name, (this.reports.get(match.partner.name) ?? 0) + 1);
        this.#end(user, 'report', { reason: 'harassment', matchId: match.matchId });
      } else if (Math.random() < this.#o.blockShare) {
        this.blocked.add(pair);
        this.#end(user, 'block', { matchId: match.matchId });
      } else {
        this.#ask(user, 'next');
      }
    });
  }

  /** Ends the match (Block, Report), then enters the queue again. */
  #end(user: CrowdUser, event: 'block' | 'report', payload: object): void {
    user.current = undefined;
    user.socket.emit(event, payload, (answer: Answer) => {
      if (!answer.ok) {
        this.#refused(user, answer.error);
      }
      if (!this.#stopping) {
        this.#ask(user, 'start');
      }
    });
  }

  /** Start or Next: into the queue (again). */
  #ask(user: CrowdUser, event: 'start' | 'next'): void {
    if (this.#stopping || user.excluded) {
      return;
    }
    if (event === 'next') {
      user.current = undefined;
    }
    user.askedAt = Date.now();
    const payload = event === 'start' ? { name: user.name, interests: user.interests, rules: true } : {};
    user.socket.emit(event, payload, (answer: Answer) => {
      if (!answer.ok) {
        this.#refused(user, answer.error);
        if (answer.error?.code === 'RESOURCE_EXHAUSTED' && !this.#stopping) {
          this.#later(1000, () => this.#ask(user, 'start'));
        }
      }
    });
  }

  #refused(user: CrowdUser, error: Answer['error']): void {
    const key = `${error?.code ?? 'UNKNOWN'}: ${error?.message ?? ''}`;
    user.refusals.set(key, (user.refusals.get(key) ?? 0) + 1);
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
  }
}
