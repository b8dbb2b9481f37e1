/**
 * The matchmaking queue of "Meet someone" (issue 16): who is waiting, who is matched with whom,
 * and who must never meet again, in Redis, so every signaling instance shares one queue. Every
 * change is one Lua script (atomic in Redis): a waiter is taken by exactly one match, nobody is in
 * two matches, nobody leaves the queue except matched, by leaving, or by being excluded.
 *
 * Keys (prefix `sb:mm:`):
 * - `queue` ZSET ticket → when it started waiting (ms); `tag:<tag>` ZSET ticket → the same, one per
 *   interest; `anyone` ZSET the same, of those without interests; `t:<ticket>` HASH the waiter
 *   (identity, name, tags, since).
 * - `who:<identity>` the identity's one ticket (`t:<ticket>`) or match (`m:<match id>`).
 * - `m:<match id>` HASH the two sides (ticket, identity, name, tags of each) and the shared tags;
 *   once ended, `ended:<match id>` HASH its two identities for ten minutes (a Block or Report
 *   pressed as the other ended it still stands).
 * - `block:<identity>` SET identities it never meets (written both ways); `recent:<identity>`
 *   ZSET identity → when they last met (no immediate rematch).
 *
 * Pairing, in order: a partner sharing an interest (the one waiting longest); else, for a
 * newcomer without interests, the longest waiter who takes anyone: the head of `anyone` or of
 * the queue's part past the fallback, whichever waited longer (two index lookups, however many
 * with interests wait ahead of them). `sweep()` pairs each waiter past the fallback the same way
 * (any instance may run it at any time: the script decides).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The keys' prefix (tests give their own). */
export const MATCH_PREFIX = 'sb:mm:';

/** Shared by the scripts: can `a` (identity) meet `b` now? Not themselves, not blocked, not too soon again. */
const compatible = (P: string) => `
local function compatible(a, b, now, recentMs)
  if a == b then return false end
  if redis.call('SISMEMBER', '${P}block:' .. a, b) == 1 then return false end
  local met = redis.call('ZSCORE', '${P}recent:' .. a, b)
  if met and tonumber(met) > now - recentMs then return false end
  return true
end
local function untag(ticket, tags)
  redis.call('ZREM', '${P}queue', ticket)
  redis.call('ZREM', '${P}anyone', ticket)
  for tag in string.gmatch(tags, '[^,]+') do redis.call('ZREM', '${P}tag:' .. tag, ticket) end
  redis.call('DEL', '${P}t:' .. ticket)
end
local function shared(a, b)
  local mine = {}
  for tag in string.gmatch(a, '[^,]+') do mine[tag] = true end
  local both = {}
  for tag in string.gmatch(b, '[^,]+') do if mine[tag] then table.insert(both, tag) end end
  return table.concat(both, ',')
end
-- Makes the match of two waiters (both already out of the queue); returns its reply.
local function pair(matchId, now, a, b)
  local both = shared(a.tags, b.tags)
  redis.call('HSET', '${P}m:' .. matchId,
    'aTicket', a.ticket, 'aIdentity', a.identity, 'aName', a.name, 'aTags', a.tags,
    'bTicket', b.ticket, 'bIdentity', b.identity, 'bName', b.name, 'bTags', b.tags,
    'shared', both, 'at', now)
  redis.call('SET', '${P}who:' .. a.identity, 'm:' .. matchId)
  redis.call('SET', '${P}who:' .. b.identity, 'm:' .. matchId)
  return {matchId, a.ticket, a.identity, a.name, a.tags, b.ticket, b.identity, b.name, b.tags, both}
end
local function waiter(ticket)
  local f = redis.call('HMGET', '${P}t:' .. ticket, 'identity', 'name', 'tags', 'since')
  if not f[1] then return nil end
  return {ticket = ticket, identity = f[1], name = f[2], tags = f[3], since = tonumber(f[4])}
end
-- The longest waiter but me who takes anyone and may meet me: from those without interests
-- and those past the fallback, merged by how long they waited (scan of each at most).
local function taker(me, now, fallbackMs, recentMs, scan)
  local a = redis.call('ZRANGE', '${P}anyone', 0, scan - 1, 'WITHSCORES')
  local b = redis.call('ZRANGEBYSCORE', '${P}queue', '-inf', now - fallbackMs, 'WITHSCORES', 'LIMIT', 0, scan)
  local i, j = 1, 1
  while i <= #a or j <= #b do
    local ticket
    if j > #b or (i <= #a and tonumber(a[i + 1]) <= tonumber(b[j + 1])) then
      ticket = a[i]
      i = i + 2
    else
      ticket = b[j]
      j = j + 2
    end
    if ticket ~= me.ticket then
      local other = waiter(ticket)
      if other and compatible(me.identity, other.identity, now, recentMs) then return other end
    end
  end
  return nil
end
`;

/**
 * ARGV: ticket, identity, name, tags (comma separated, maybe empty), now, fallbackMs, recentMs,
 * matchId, scan. Replies {'busy', what} when the identity already waits or is matched; {'queued'};
 * or {'matched', matchId, a..., b..., shared} (a: the one who waited, b: the newcomer).
 */
const enqueueScript = (P: string) => `${compatible(P)}
local me = {ticket = ARGV[1], identity = ARGV[2], name = ARGV[3], tags = ARGV[4]}
local now, fallbackMs, recentMs, matchId, scan = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
local current = redis.call('GET', '${P}who:' .. me.identity)
if current then return {'busy', current} end
-- 1. Someone sharing an interest: the one waiting longest.
local best, bestSince = nil, nil
for tag in string.gmatch(me.tags, '[^,]+') do
  local waiting = redis.call('ZRANGE', '${P}tag:' .. tag, 0, scan - 1, 'WITHSCORES')
  for i = 1, #waiting, 2 do
    local since = tonumber(waiting[i + 1])
    if bestSince and since >= bestSince then break end
    local other = waiter(waiting[i])
    if other and compatible(me.identity, other.identity, now, recentMs) then
      best, bestSince = other, since
      break
    end
  end
end
-- 2. Else, when the newcomer takes anyone (no interests): the longest waiter who takes anyone too.
if not best and me.tags == '' then
  best = taker(me, now, fallbackMs, recentMs, scan)
end
if best then
  untag(best.ticket, best.tags)
  return {'matched', unpack(pair(matchId, now, best, me))}
end
redis.call('HSET', '${P}t:' .. me.ticket, 'identity', me.identity, 'name', me.name, 'tags', me.tags, 'since', now)
redis.call('ZADD', '${P}queue', now, me.ticket)
if me.tags == '' then redis.call('ZADD', '${P}anyone', now, me.ticket) end
for tag in string.gmatch(me.tags, '[^,]+') do redis.call('ZADD', '${P}tag:' .. tag, now, me.ticket) end
redis.call('SET', '${P}who:' .. me.identity, 't:' .. me.ticket)
return {'queued'}
`;

/**
 * Pairs waiters past the fallback with the longest waiter who takes them (anyone past the
 * fallback or without interests), oldest first. ARGV: now, fallbackMs, recentMs, matchIdPrefix,
 * scan, max. Replies a list of matches, each as ENQUEUE's (without 'matched').
 */
const sweepScript = (P: string) => `${compatible(P)}
local now, fallbackMs, recentMs, prefix, scan, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local made = {}
local stale = redis.call('ZRANGEBYSCORE', '${P}queue', '-inf', now - fallbackMs, 'LIMIT', 0, max)
for _, ticket in ipairs(stale) do
  local me = waiter(ticket)
  if me and #made < max then
    local other = taker(me, now, fallbackMs, recentMs, scan)
    if other then
      untag(me.ticket, me.tags)
      untag(other.ticket, other.tags)
      local first, second = me, other
      if other.since < me.since then first, second = other, me end
      table.insert(made, pair(prefix .. #made, now, first, second))
    end
  end
end
return made
`;

/** How long an ended match's two identities are kept (ms), for a late Block or Report. */
const ENDED_TTL_MS = 600_000;

/**
 * Ends the identity's match or wait. ARGV: identity, now, block ('1': never again), only (a match
 * id: end that match only, nothing else; '' for whatever it is in). Replies
 * {'none'}, {'left-queue', ticket} or {'ended', matchId, its ticket, partner ticket, partner identity}.
 * Ending a match remembers the pair as recent (both ways), and as blocked when asked.
 */
const leaveScript = (P: string) => `${compatible(P)}
local identity, now, block, only = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1', ARGV[4]
local current = redis.call('GET', '${P}who:' .. identity)
if not current then return {'none'} end
if only ~= '' and current ~= 'm:' .. only then return {'none'} end
local kind, id = string.sub(current, 1, 1), string.sub(current, 3)
redis.call('DEL', '${P}who:' .. identity)
if kind == 't' then
  local me = waiter(id)
  if me then untag(id, me.tags) end
  return {'left-queue', id}
end
local m = redis.call('HGETALL', '${P}m:' .. id)
local f = {}
for i = 1, #m, 2 do f[m[i]] = m[i + 1] end
redis.call('DEL', '${P}m:' .. id)
redis.call('HSET', '${P}ended:' .. id, 'a', f.aIdentity or '', 'b', f.bIdentity or '')
redis.call('PEXPIRE', '${P}ended:' .. id, ${ENDED_TTL_MS})
local mine, other, otherTicket = f.aIdentity, f.bIdentity, f.bTicket
local myTicket = f.aTicket
if mine ~= identity then mine, other, otherTicket, myTicket = f.bIdentity, f.aIdentity, f.aTicket, f.bTicket end
if other and redis.call('GET', '${P}who:' .. other) == current then redis.call('DEL', '${P}who:' .. other) end
if other then
  redis.call('ZADD', '${P}recent:' .. identity, now, other)
  redis.call('ZADD', '${P}recent:' .. other, now, identity)
  redis.call('PEXPIRE', '${P}recent:' .. identity, 86400000)
  redis.call('PEXPIRE', '${P}recent:' .. other, 86400000)
  if block then
    redis.call('SADD', '${P}block:' .. identity, other)
    redis.call('SADD', '${P}block:' .. other, identity)
  end
end
return {'ended', id, myTicket or '', otherTicket or '', other or ''}
`;

/**
 * Blocks the other side of an ended match for one of its two. ARGV: identity, match id. Replies the
 * other's identity, or false when the match is unknown (long ago) or not theirs.
 */
const blockEndedScript = (P: string) => `
local f = redis.call('HMGET', '${P}ended:' .. ARGV[2], 'a', 'b')
local other
if f[1] == ARGV[1] then other = f[2] elseif f[2] == ARGV[1] then other = f[1] else return false end
if not other or other == '' then return false end
redis.call('SADD', '${P}block:' .. ARGV[1], other)
redis.call('SADD', '${P}block:' .. other, ARGV[1])
return other
`;

/** One side of a match. */
export interface MatchSide {
  ticket: string;
  identity: string;
  name: string;
  /** The interests it came with. */
  tags: string[];
}

export interface Match {
  id: string;
  /** The one who waited longer. */
  a: MatchSide;
  b: MatchSide;
  /** The interests they share (maybe none). */
  shared: string[];
}

export type EnqueueResult =
  { kind: 'queued' } | { kind: 'busy'; current: string } | { kind: 'matched'; match: Match };

export type LeaveResult =
  | { kind: 'none' }
  | { kind: 'left-queue'; ticket: string }
  | { kind: 'ended'; matchId: string; ticket: string; partner: { ticket: string; identity: string } };

export interface MatchQueueOptions {
  redis: Redis;
  /** A waiter with interests takes anyone after this long (ms). */
  fallbackMs: number;
  /** Two people who just met are not paired again for this long (ms). */
  recentMs: number;
  /** Waiters a script looks at, at most, per search (bounds a script's time). */
  scan?: number;
  /** Key prefix (default `sb:mm:`). */
  prefix?: string;
}

const DEFAULT_SCAN = 200;

type ScriptName = 'enqueue' | 'sweep' | 'leave' | 'blockEnded';

const list = (tags: string) => (tags ? tags.split(',') : []);

function toMatch(reply: string[]): Match {
  const [id, aTicket, aIdentity, aName, aTags, bTicket, bIdentity, bName, bTags, shared] = reply;
  return {
    id,
    a: { ticket: aTicket, identity: aIdentity, name: aName, tags: list(aTags) },
    b: { ticket: bTicket, identity: bIdentity, name: bName, tags: list(bTags) },
    shared: list(shared),
  };
}

export class MatchQueue {
  readonly #o: Required<MatchQueueOptions>;
  readonly #scripts: Record<ScriptName, { body: string; sha: string }>;

  constructor(options: MatchQueueOptions) {
    this.#o = { scan: DEFAULT_SCAN, prefix: MATCH_PREFIX, ...options };
    const p = this.#o.prefix;
    const script = (body: string) => ({ body, sha: createHash('sha1').update(body).digest('hex') });
    this.#scripts = {
      enqueue: script(enqueueScript(p)),
      sweep: script(sweepScript(p)),
      leave: script(leaveScript(p)),
      blockEnded: script(blockEndedScript(p)),
    };
  }

  /**
   * Runs a script by its SHA1 (EVALSHA: the 4 KB body is not sent and hashed on every call); once
   * Redis does not know it (first use, a restart, SCRIPT FLUSH), with its body, which loads it.
   */
  async #run(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    const { body, sha } = this.#scripts[name];
    try {
      return await this.#o.redis.evalsha(sha, 0, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) {
        throw error;
      }
      return this.#o.redis.eval(body, 0, ...args);
    }
  }

  /**
   * Pairs `ticket` (the identity's wait) with a partner now, or queues it. `tags`: normalised
   * interests (lowercase, no commas). `matchId`: the id to give a match made now.
   */
  async enqueue(
    waiter: Omit<MatchSide, 'tags'> & { tags: readonly string[] },
    matchId: string,
    now = Date.now(),
  ): Promise<EnqueueResult> {
    const reply = (await this.#run(
      'enqueue',
      waiter.ticket,
      waiter.identity,
      waiter.name,
      waiter.tags.join(','),
      now,
      this.#o.fallbackMs,
      this.#o.recentMs,
      matchId,
      this.#o.scan,
    )) as string[];
    if (reply[0] === 'busy') {
      return { kind: 'busy', current: reply[1] };
    }
    if (reply[0] === 'queued') {
      return { kind: 'queued' };
    }
    return { kind: 'matched', match: toMatch(reply.slice(1)) };
  }

  /** Pairs the waiters past the fallback (at most `max` matches); ids are `idPrefix` + a number. */
  async sweep(idPrefix: string, max = 50, now = Date.now()): Promise<Match[]> {
    const reply = (await this.#run(
      'sweep',
      now,
      this.#o.fallbackMs,
      this.#o.recentMs,
      idPrefix,
      this.#o.scan,
      max,
    )) as string[][];
    return reply.map(toMatch);
  }

  /**
   * Ends the identity's wait or match; `block`: the two never meet again; `only`: end this match
   * only (none when the identity is not in it now).
   */
  async leave(
    identity: string,
    options: { block?: boolean; only?: string } = {},
    now = Date.now(),
  ): Promise<LeaveResult> {
    const reply = (await this.#run(
      'leave',
      identity,
      now,
      options.block ? '1' : '0',
      options.only ?? '',
    )) as string[];
    if (reply[0] === 'left-queue') {
      return { kind: 'left-queue', ticket: reply[1] };
    }
    if (reply[0] === 'ended') {
      return {
        kind: 'ended',
        matchId: reply[1],
        ticket: reply[2],
        partner: { ticket: reply[3], identity: reply[4] },
      };
    }
    return { kind: 'none' };
  }

  /**
   * Blocks the other side of a match that already ended (within ten minutes), for one of its two;
   * the other's identity, or undefined when the match is not theirs or long gone.
   */
  async blockEnded(identity: string, matchId: string): Promise<string | undefined> {
    const other = (await this.#run('blockEnded', identity, matchId)) as string | null;
    return other ?? undefined;
  }

  /** When the identity's current match was made (ms since epoch), if it is in one. */
  async matchedAt(identity: string): Promise<number | undefined> {
    const current = await this.current(identity);
    if (!current?.startsWith('m:')) {
      return undefined;
    }
    const at = await this.#o.redis.hget(`${this.#o.prefix}m:${current.slice(2)}`, 'at');
    return at === null ? undefined : Number(at);
  }

  /** How many wait now. */
  async waiting(): Promise<number> {
    return this.#o.redis.zcard(`${this.#o.prefix}queue`);
  }

  /** The identity's ticket (`t:<ticket>`) or match (`m:<id>`), if any. */
  async current(identity: string): Promise<string | undefined> {
    return (await this.#o.redis.get(`${this.#o.prefix}who:${identity}`)) ?? undefined;
  }
}
