/**
 * Progressive back-off for failed sign-ins, per account and per client address, kept in Redis so
 * every gateway instance sees the same counts. After `threshold` failures in a row the key is
 * locked for the next step of the ladder (1 → 5 → 15 → 60 minutes by default); each further run
 * of failures climbs one step. A success clears the account's record.
 */
import type { Redis } from 'ioredis';
import { RateLimitedError } from '@switchboard/errors';

/** Counts a failure; locks when the threshold is reached. Returns the lock's end (ms) or 0. */
const FAIL_SCRIPT = `
local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if fails >= tonumber(ARGV[1]) then
  local level = redis.call('HINCRBY', KEYS[1], 'level', 1)
  local steps = #ARGV - 3
  local step = tonumber(ARGV[3 + math.min(level, steps)])
  local untilMs = tonumber(ARGV[2]) + step * 1000
  redis.call('HSET', KEYS[1], 'fails', 0, 'lockedUntil', untilMs)
  return untilMs
end
return 0
`;

export interface ThrottleOptions {
  /** Failures in a row that lock an account (default 5). */
  accountThreshold: number;
  /** Failures in a row that lock a client address (default 20: a shared office NAT). */
  ipThreshold: number;
  /** Lock durations in seconds, one step per lock (default 60, 300, 900, 3600). */
  ladderSeconds: number[];
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  accountThreshold: 5,
  ipThreshold: 20,
  ladderSeconds: [60, 300, 900, 3600],
};

/** How long a record of failures is kept after the last one. */
const MEMORY_MS = 24 * 3600 * 1000;

const accountKey = (email: string) => `sb:login:account:${email}`;
const ipKey = (ip: string) => `sb:login:ip:${ip}`;

export class LoginThrottle {
  readonly #redis: Redis;
  readonly #options: ThrottleOptions;

  constructor(redis: Redis, options: ThrottleOptions = DEFAULT_THROTTLE) {
    this.#redis = redis;
    this.#options = options;
  }

  /** Throws RESOURCE_EXHAUSTED (HTTP 429) with the wait when the account or address is locked. */
  async check(email: string, ip: string): Promise<void> {
    const now = Date.now();
    const [account, address] = await Promise.all([
      this.#redis.hget(accountKey(email), 'lockedUntil'),
      this.#redis.hget(ipKey(ip), 'lockedUntil'),
    ]);
    const until = Math.max(Number(account ?? 0), Number(address ?? 0));
    if (until > now) {
      throw lockedError(until - now);
    }
  }

  /** Records a failed attempt; throws the lock error when this failure starts a lock. */
  async fail(email: string, ip: string): Promise<void> {
    const now = String(Date.now());
    const ladder = this.#options.ladderSeconds.map(String);
    const [account, address] = (await Promise.all([
      this.#redis.eval(
        FAIL_SCRIPT,
        1,
        accountKey(email),
        this.#options.accountThreshold,
        now,
        MEMORY_MS,
        ...ladder,
      ),
      this.#redis.eval(FAIL_SCRIPT, 1, ipKey(ip), this.#options.ipThreshold, now, MEMORY_MS, ...ladder),
    ])) as number[];
    const until = Math.max(account, address);
    if (until > 0) {
      throw lockedError(until - Date.now());
    }
  }

  async succeed(email: string): Promise<void> {
    await this.#redis.del(accountKey(email));
  }
}

function lockedError(waitMs: number): RateLimitedError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const wait = seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
  return new RateLimitedError(`too many failed sign-ins; try again in ${wait}`, seconds);
}
