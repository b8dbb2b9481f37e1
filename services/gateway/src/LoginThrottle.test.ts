/** LoginThrottle against the real Redis: counts before checking, locks by pair and climbs its ladder. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testRedisUrl } from '@switchboard/testing';
import { LoginThrottle, type ThrottleOptions } from './LoginThrottle';

describe('LoginThrottle (real Redis)', () => {
  const redis = new Redis(testRedisUrl());
  afterAll(() => redis.disconnect());

  const address = () => `10.9.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const throttle = (options: Partial<ThrottleOptions>) =>
    new LoginThrottle(redis, {
      pairThreshold: 5,
      ipThreshold: 100,
      accountThreshold: 100,
      ladderSeconds: [1, 2, 3],
      ...options,
    });

  /** A wrong password: the lock's wait in seconds it met or started, 0 when none. */
  const fail = async (t: LoginThrottle, email: string, ip: string): Promise<number> => {
    try {
      return t.failed(await t.attempt(email, ip))?.retryAfterSeconds ?? 0;
    } catch (error) {
      return (error as { retryAfterSeconds: number }).retryAfterSeconds;
    }
  };

  it('locks an account from one address after the threshold, each lock one step longer, and forgets on success', async () => {
    const t = throttle({ pairThreshold: 2 });
    const email = `ladder-${randomUUID()}@example.test`;
    const ip = address();
    expect(await fail(t, email, ip)).toBe(0);
    expect(await fail(t, email, ip)).toBe(1); // first lock: step 1
    expect(await fail(t, email, ip)).toBe(1); // refused while locked (and not counted)
    await new Promise((r) => setTimeout(r, 1100));
    expect(await fail(t, email, ip)).toBe(0); // served its time
    expect(await fail(t, email, ip)).toBe(2); // second lock: step 2
    await new Promise((r) => setTimeout(r, 2100));
    await fail(t, email, ip);
    expect(await fail(t, email, ip)).toBe(3); // third: step 3
    await new Promise((r) => setTimeout(r, 3100));
    await fail(t, email, ip);
    expect(await fail(t, email, ip)).toBe(3); // stays at the last step
    await new Promise((r) => setTimeout(r, 3100));
    await t.succeeded(email, ip);
    expect(await fail(t, email, ip)).toBe(0); // a success started it over
    expect(await fail(t, email, ip)).toBe(1);
  }, 20_000);

  it('counts parallel attempts before any is checked: twenty at once, five let through', async () => {
    const t = throttle({});
    const email = `burst-${randomUUID()}@example.test`;
    const ip = address();
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => t.attempt(email, ip)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(15);
  });

  it('locks the guesser’s pair, not the owner elsewhere; many addresses together lock the account', async () => {
    const t = throttle({ accountThreshold: 12 });
    const email = `target-${randomUUID()}@example.test`;
    const guesser = address();
    for (let i = 0; i < 5; i++) {
      await fail(t, email, guesser);
    }
    expect(await fail(t, email, guesser)).toBeGreaterThan(0);
    // The owner, from home, is let through (and a success gives its attempt back).
    const owner = address();
    const attempt = await t.attempt(email, owner);
    expect(t.failed(attempt)).toBeUndefined();
    await t.succeeded(email, owner);
    // Guessing spread over addresses: four each from two more (12 failures in all) lock it for all.
    for (const ip of [address(), address()]) {
      for (let i = 0; i < 4; i++) {
        await fail(t, email, ip);
      }
    }
    expect(await fail(t, email, owner)).toBeGreaterThan(0);
  });
});
