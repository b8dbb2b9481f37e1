/**
 * SharedBudget against the real Redis: instances share one budget per key and never grant more
 * than it, ask Redis once per turn of the event loop for every key, refuse a spent key without
 * asking again, start a new window when the old one ends, and serve requests when Redis is gone.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Logger } from '@switchboard/logger';
import { RateLimitedError } from '@switchboard/errors';
import { testRedisUrl } from '@switchboard/testing';
import { SharedBudget, type SharedBudgetOptions } from './SharedBudget';

const quietLogger = () => ({ warn: vi.fn() }) as unknown as Logger & { warn: ReturnType<typeof vi.fn> };

/** How each take ended: 'ok', or the refusal. */
const outcomes = (takes: Promise<void>[]) =>
  Promise.all(
    takes.map((take) =>
      take.then(
        () => 'ok' as const,
        (error: unknown) => error as RateLimitedError,
      ),
    ),
  );

describe('SharedBudget (real Redis)', () => {
  const clients: Redis[] = [];
  const client = (url = testRedisUrl(), options = {}) => {
    const redis = new Redis(url, options);
    clients.push(redis);
    return redis;
  };
  afterAll(() => clients.forEach((redis) => redis.disconnect()));

  const options = (points: number, windowSeconds = 10): SharedBudgetOptions => ({
    prefix: `sb:test:budget:${randomUUID()}`,
    points,
    windowSeconds,
    message: 'you send too many requests; slow down',
  });

  it('shares one budget between instances and never grants more than it', async () => {
    const o = options(120); // leases of 2 points
    const one = new SharedBudget(client(), o, quietLogger());
    const two = new SharedBudget(client(), o, quietLogger());
    const results = await outcomes(
      Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? one : two).take('client-a')),
    );
    const served = results.filter((r) => r === 'ok').length;
    // At most the budget; at most one unspent point of a lease lost per instance.
    expect(served).toBeLessThanOrEqual(120);
    expect(served).toBeGreaterThanOrEqual(118);
    const refusals = results.filter((r): r is RateLimitedError => r !== 'ok');
    expect(refusals.length).toBe(300 - served);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(RateLimitedError);
      expect(refusal.code).toBe('RESOURCE_EXHAUSTED');
      expect(refusal.message).toBe('you send too many requests; slow down');
      expect(refusal.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refusal.retryAfterSeconds).toBeLessThanOrEqual(10);
    }
    // Each instance logs its first refusal of the window; the rest are marked as a flood.
    expect(refusals.filter((r) => !r.repeated).length).toBe(2);
    // Redis holds what was taken, with the window's expiry.
    const redis = client();
    expect(Number(await redis.get(`${o.prefix}:client-a`))).toBe(120);
    expect(await redis.pttl(`${o.prefix}:client-a`)).toBeGreaterThan(5_000);
    // Another client is untouched.
    await expect(one.take('client-b')).resolves.toBeUndefined();
  });

  it('asks Redis once for every key of a turn, spends leases locally, and refuses a spent key without asking', async () => {
    const redis = client();
    const evals = vi.spyOn(redis, 'eval');
    const budget = new SharedBudget(redis, options(600), quietLogger()); // leases of 10 points
    const keys = Array.from({ length: 50 }, (_, i) => `client-${i}`);
    expect(await outcomes(keys.map((key) => budget.take(key)))).toEqual(keys.map(() => 'ok'));
    expect(evals).toHaveBeenCalledTimes(1);
    // Nine more each come out of the leases.
    const more = keys.flatMap((key) => Array.from({ length: 9 }, () => budget.take(key)));
    expect((await outcomes(more)).every((r) => r === 'ok')).toBe(true);
    expect(evals).toHaveBeenCalledTimes(1);
    // One key spends its whole budget: 59 more leases, then one answer with nothing left.
    const spent = await outcomes(Array.from({ length: 650 }, () => budget.take('client-0')));
    expect(spent.filter((r) => r === 'ok').length).toBe(590);
    const asked = evals.mock.calls.length;
    // A flood of a spent key costs Redis nothing until its window ends.
    const flood = await outcomes(Array.from({ length: 100 }, () => budget.take('client-0')));
    expect(flood.every((r) => r !== 'ok' && r.repeated)).toBe(true);
    expect(evals).toHaveBeenCalledTimes(asked);
  });

  it('starts a new window when the old one ends', async () => {
    const budget = new SharedBudget(client(), options(3, 1), quietLogger());
    const first = await outcomes(Array.from({ length: 5 }, () => budget.take('k')));
    expect(first.filter((r) => r === 'ok').length).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const second = await outcomes(Array.from({ length: 5 }, () => budget.take('k')));
    expect(second.filter((r) => r === 'ok').length).toBe(3);
  });

  it('serves requests when Redis cannot be reached, and says so once', async () => {
    const logger = quietLogger();
    // Nothing listens on port 1; no queueing, no retries: each call fails at once.
    const down = client('redis://127.0.0.1:1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    down.on('error', () => {}); // ioredis reports the refused connection; the budget's warning is the point
    const budget = new SharedBudget(down, options(1), logger);
    const results = await outcomes(Array.from({ length: 5 }, () => budget.take('k')));
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]?.[1]).toBe('rate limiter unavailable; requests served');
  });
});
