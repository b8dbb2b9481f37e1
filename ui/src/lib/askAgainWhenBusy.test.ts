import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError, type ErrorCode } from '@switchboard/errors';
import { askAgainWhenBusy } from './askAgainWhenBusy';

describe('askAgainWhenBusy', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const options = { tries: 3, delayMs: (failedTry: number) => failedTry * 1000, stopped: () => false };

  /** A request failing with each of `codes` in turn, then answering 'ok'; and its call times. */
  function requestFailing(...codes: string[]) {
    const calledAt: number[] = [];
    const request = vi.fn(() => {
      calledAt.push(Date.now());
      const code = codes.shift();
      return code
        ? Promise.reject(new AppError(code as ErrorCode, `${code} on try ${calledAt.length}`))
        : Promise.resolve('ok');
    });
    return { request, calledAt };
  }

  it('asks again after a passed deadline or no connection, waiting longer each time', async () => {
    vi.useFakeTimers({ now: 0 });
    const { request, calledAt } = requestFailing('DEADLINE_EXCEEDED', 'UNAVAILABLE');
    const answer = askAgainWhenBusy(request, options);
    await vi.runAllTimersAsync();
    await expect(answer).resolves.toBe('ok');
    expect(calledAt).toEqual([0, 1000, 3000]);
  });

  it('gives the last failure after its tries', async () => {
    vi.useFakeTimers({ now: 0 });
    const { request } = requestFailing(
      'DEADLINE_EXCEEDED',
      'DEADLINE_EXCEEDED',
      'DEADLINE_EXCEEDED',
      'UNAVAILABLE',
    );
    const answer = askAgainWhenBusy(request, options);
    const settled = answer.catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    expect(await settled).toMatchObject({ code: 'DEADLINE_EXCEEDED', message: 'DEADLINE_EXCEEDED on try 3' });
    expect(request).toHaveBeenCalledTimes(3);
  });

  it('does not ask again after a refusal another try cannot change', async () => {
    for (const code of ['PERMISSION_DENIED', 'NOT_FOUND', 'INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED']) {
      const { request } = requestFailing(code);
      await expect(askAgainWhenBusy(request, options)).rejects.toMatchObject({ code });
      expect(request, code).toHaveBeenCalledTimes(1);
    }
    const plain = vi.fn(() => Promise.reject(new Error('no code')));
    await expect(askAgainWhenBusy(plain, options)).rejects.toThrow('no code');
    expect(plain).toHaveBeenCalledTimes(1);
  });

  it('stops once its asker is gone', async () => {
    let closed = false;
    const request = vi.fn(() => {
      closed = true; // the session closed while this try was out
      return Promise.reject(new AppError('DEADLINE_EXCEEDED', 'late'));
    });
    await expect(askAgainWhenBusy(request, { ...options, stopped: () => closed })).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
    expect(request).toHaveBeenCalledTimes(1);
  });
});
