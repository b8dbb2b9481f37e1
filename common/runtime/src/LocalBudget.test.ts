/** LocalBudget: a fixed window per key, refusals that say when to retry, and no unbounded growth. */
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '@switchboard/errors';
import { LocalBudget } from './LocalBudget';

const refusal = (take: () => void): RateLimitedError | undefined => {
  try {
    take();
    return undefined;
  } catch (error) {
    return error as RateLimitedError;
  }
};

describe('LocalBudget', () => {
  it('allows `points` a window per key, then refuses with when to retry until the window ends', () => {
    const budget = new LocalBudget({ points: 3, windowSeconds: 10, message: 'slow down' });
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) {
      budget.take('a', t0 + i);
    }
    const first = refusal(() => budget.take('a', t0 + 2_000));
    expect(first).toBeInstanceOf(RateLimitedError);
    expect(first?.code).toBe('RESOURCE_EXHAUSTED');
    expect(first?.message).toBe('slow down');
    expect(first?.retryAfterSeconds).toBe(8);
    expect(first?.repeated).toBe(false);
    // The rest of the flood is marked, so edges log it once.
    expect(refusal(() => budget.take('a', t0 + 3_000))?.repeated).toBe(true);
    // Another key has its own budget.
    expect(refusal(() => budget.take('b', t0 + 3_000))).toBeUndefined();
    // A new window starts when the old one ends.
    expect(refusal(() => budget.take('a', t0 + 10_000))).toBeUndefined();
    expect(refusal(() => budget.take('a', t0 + 10_001))).toBeUndefined();
  });

  it('forgets a key at once, and drops ended windows once the map has doubled', () => {
    const budget = new LocalBudget({ points: 1, windowSeconds: 1, message: 'slow down' });
    budget.take('gone', 0);
    budget.forget('gone');
    expect(refusal(() => budget.take('gone', 1))).toBeUndefined();
    for (let i = 0; i < 5000; i++) {
      budget.take(`k${i}`, 10_000 + i);
    }
    // Each key's window lasted 1 s: at most about a second's keys (plus the sweep's slack) remain.
    expect(budget.size).toBeLessThan(2100);
  });
});
