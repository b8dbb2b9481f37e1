/** LoginThrottle against the real Redis: locks after the threshold and climbs its ladder. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testRedisUrl } from '@switchboard/testing';
import { LoginThrottle } from './LoginThrottle';

describe('LoginThrottle (real Redis)', () => {
  const redis = new Redis(testRedisUrl());
  afterAll(() => redis.disconnect());

  const lockedFor = async (work: () => Promise<void>): Promise<number> => {
    try {
      await work();
      return 0;
    } catch (error) {
      return (error as { retryAfterSeconds: number }).retryAfterSeconds;
    }
  };

  it('locks an account after the threshold, each further lock one step longer, and forgets on success', async () => {
    const throttle = new LoginThrottle(redis, {
      accountThreshold: 2,
      ipThreshold: 100,
      ladderSeconds: [1, 2, 3],
    });
    const email = `ladder-${randomUUID()}@example.test`;
    const ip = `10.9.${Math.floor(Math.random() * 250)}.1`;
    expect(await lockedFor(() => throttle.fail(email, ip))).toBe(0);
    expect(await lockedFor(() => throttle.fail(email, ip))).toBe(1); // first lock: step 1
    expect(await lockedFor(() => throttle.check(email, ip))).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await lockedFor(() => throttle.check(email, ip))).toBe(0); // served its time
    await lockedFor(() => throttle.fail(email, ip));
    expect(await lockedFor(() => throttle.fail(email, ip))).toBe(2); // second lock: step 2
    await new Promise((r) => setTimeout(r, 2100));
    await lockedFor(() => throttle.fail(email, ip));
    expect(await lockedFor(() => throttle.fail(email, ip))).toBe(3); // third: step 3
    await new Promise((r) => setTimeout(r, 3100));
    await lockedFor(() => throttle.fail(email, ip));
    expect(await lockedFor(() => throttle.fail(email, ip))).toBe(3); // stays at the last step
    await throttle.succeed(email);
    expect(await lockedFor(() => throttle.check(email, ip))).toBe(0);
    expect(await lockedFor(() => throttle.fail(email, ip))).toBe(0); // a success started it over
  }, 20_000);
});
