import { describe, expect, it } from 'vitest';
import { AppError } from '@switchboard/errors';
import { DEFAULT_RECONNECT_DELAYS, ReconnectPolicy } from './ReconnectPolicy';

describe('ReconnectPolicy', () => {
  const policy = new ReconnectPolicy();
  const unavailable = new AppError('UNAVAILABLE', 'signaling restarting');

  it('backs off through its delays, then gives up', () => {
    const waits: (number | null)[] = [];
    for (let attempts = 0; attempts <= DEFAULT_RECONNECT_DELAYS.length; attempts++) {
      waits.push(
        policy.nextDelayMs({ attempts, rejoinNow: false, error: attempts ? unavailable : undefined }),
      );
    }
    expect(waits).toEqual([...DEFAULT_RECONNECT_DELAYS, null]);
  });

  it('rejoins at once when the server says so, then backs off as usual', () => {
    expect(policy.nextDelayMs({ attempts: 0, rejoinNow: true })).toBe(0);
    expect(policy.nextDelayMs({ attempts: 1, rejoinNow: true, error: unavailable })).toBe(
      DEFAULT_RECONNECT_DELAYS[0],
    );
  });

  it('stops at a refusal retrying cannot change, and keeps trying after anything else', () => {
    for (const code of ['PERMISSION_DENIED', 'NOT_FOUND', 'CANCELLED'] as const) {
      expect(
        policy.nextDelayMs({ attempts: 1, rejoinNow: false, error: new AppError(code, 'no') }),
        code,
      ).toBe(null);
    }
    expect(policy.nextDelayMs({ attempts: 1, rejoinNow: false, error: new Error('socket hang up') })).toBe(
      1000,
    );
    expect(policy.nextDelayMs({ attempts: 1, rejoinNow: false, error: unavailable })).toBe(1000);
  });
});
