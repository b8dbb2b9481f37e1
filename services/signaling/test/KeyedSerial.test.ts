/**
 * Unit: tasks of one key run one at a time in the order given (a slow first one is not overtaken),
 * a failure does not stop the next, other keys do not wait, and nothing is kept once all settled.
 */
import { describe, expect, it } from 'vitest';
import { KeyedSerial } from '../src/KeyedSerial';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('KeyedSerial', () => {
  it('runs one key in order, a failure not stopping the next, other keys alongside', async () => {
    const serial = new KeyedSerial();
    const done: string[] = [];
    const slow = serial.run('a', async () => {
      await sleep(30);
      done.push('a1');
    });
    const failing = serial.run('a', async () => {
      done.push('a2');
      throw new Error('refused');
    });
    const last = serial.run('a', async () => {
      done.push('a3');
      return 3;
    });
    const other = serial.run('b', async () => {
      done.push('b1');
    });
    await other;
    expect(done).toEqual(['b1']); // b did not wait for a's slow task
    await slow;
    await expect(failing).rejects.toThrow('refused');
    expect(await last).toBe(3);
    expect(done).toEqual(['b1', 'a1', 'a2', 'a3']);
    await sleep(0);
    expect(serial.size).toBe(0);
  });
});
