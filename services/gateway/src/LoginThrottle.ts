/**
 * Progressive back-off for sign-ins, kept in Redis so every gateway instance sees the same counts.
 * Every attempt is counted before the password is checked, atomically (one Lua script), so a
 * burst of parallel guesses cannot all pass the check and only then be counted: once a key
 * reaches its threshold the attempts behind it are refused without an argon2 verification.
 *
 * Three keys: an account from one address (`pair`, 5 by default: the guesser's lock, which leaves
 * the owner signing in from elsewhere alone), one address over all accounts (20: a shared office
 * NAT), and one account over all addresses (100: only many addresses together reach it, against
 * guessing spread over a botnet). After a key's threshold it is locked for the next step of the
 * ladder (1 → 5 → 15 → 60 minutes by default); each further run climbs one step. A success clears
 * its pair and takes its own attempt back from the other two.
 */
import type { Redis } from 'ioredis';
import { RateLimitedError } from '@switchboard/errors';

/**
 * KEYS: the keys to count on. ARGV: now (ms), memory (ms), one threshold per key, then the ladder
 * (seconds). When a key is locked, nothing is counted and its lock's end is returned negated;
 * otherwise the attempt is counted on every key, and the latest lock it starts (its end, ms) or 0
 * is returned.
 */
const ATTEMPT_SCRIPT = `
local now = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local lockedUntil = tonumber(redis.call('HGET', key, 'lockedUntil') or '0')
  if lockedUntil > now then return -lockedUntil end
end
local steps = #ARGV - 2 - #KEYS
local started = 0
for i, key in ipairs(KEYS) do
  local fails = redis.call('HINCRBY', key, 'fails', 1)
  redis.call('PEXPIRE', key, ARGV[2])
  if fails >= tonumber(ARGV[2 + i]) then
    local level = redis.call('HINCRBY', key, 'level', 1)
    local untilMs = now + tonumber(ARGV[2 + #KEYS + math.min(level, steps)]) * 1000
    redis.call('HSET', key, 'fails', 0, 'lockedUntil', untilMs)
    if untilMs > started then started = untilMs end
  end
end
return started
`;

/** Takes one counted attempt back from each key (not below zero). */
const GIVE_BACK_SCRIPT = `
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('HGET', key, 'fails') or '0') > 0 then redis.call('HINCRBY', key, 'fails', -1) end
end
return 0
`;

export interface ThrottleOptions {
  /** Failures in a row of one account from one address that lock that pair (default 5). */
  pairThreshold: number;
  /** Failures in a row from one client address that lock it (default 20: a shared office NAT). */
  ipThreshold: number;
  /** Failures in a row of one account from all addresses that lock it (default 100). */
  accountThreshold: number;
  /** Lock durations in seconds, one step per lock (default 60, 300, 900, 3600). */
  ladderSeconds: number[];
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  pairThreshold: 5,
  ipThreshold: 20,
  accountThreshold: 100,
  ladderSeconds: [60, 300, 900, 3600],
};

/** How long a record of failures is kept after the last one. */
const MEMORY_MS = 24 * 3600 * 1000;

const pairKey = (email: string, ip: string) => `sb:login:pair:${email}|${ip}`;
const ipKey = (ip: string) => `sb:login:ip:${ip}`;
const accountKey = (email: string) => `sb:login:account:${email}`;

/** An attempt let through: whether it started a lock (then a failure says so). */
export interface LoginAttempt {
  lockedFrom?: number;
}

export class LoginThrottle {
  readonly #redis: Redis;
  readonly #options: ThrottleOptions;

  constructor(redis: Redis, options: ThrottleOptions = DEFAULT_THROTTLE) {
    this.#redis = redis;
    this.#options = options;
  }

  /**
   * Counts a sign-in attempt before its password is checked; throws RESOURCE_EXHAUSTED (HTTP 429)
   * with the wait when the pair, the address or the account is locked.
   */
  async attempt(email: string, ip: string): Promise<LoginAttempt> {
    const { pairThreshold, ipThreshold, accountThreshold, ladderSeconds } = this.#options;
    const result = Number(
      await this.#redis.eval(
        ATTEMPT_SCRIPT,
        3,
        pairKey(email, ip),
        ipKey(ip),
        accountKey(email),
        Date.now(),
        MEMORY_MS,
        pairThreshold,
        ipThreshold,
        accountThreshold,
        ...ladderSeconds,
      ),
    );
    if (result < 0) {
      throw lockedError(-result - Date.now());
    }
    return result > 0 ? { lockedFrom: result } : {};
  }

  /** The attempt failed: the error to answer with (the lock it started, if it did). */
  failed(attempt: LoginAttempt): RateLimitedError | undefined {
    return attempt.lockedFrom ? lockedError(attempt.lockedFrom - Date.now()) : undefined;
  }

  /** The attempt succeeded: its pair starts over, and the others no longer count it. */
  async succeeded(email: string, ip: string): Promise<void> {
    await this.#redis
      .multi()
      .del(pairKey(email, ip))
      .eval(GIVE_BACK_SCRIPT, 2, ipKey(ip), accountKey(email))
      .exec();
  }
}

function lockedError(waitMs: number): RateLimitedError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const wait = seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
  return new RateLimitedError(`too many failed sign-ins; try again in ${wait}`, seconds);
}
