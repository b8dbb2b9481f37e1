/**
 * What browsers report for the SLIs of docs/slo.md (real signaling, media node, Redis): the time
 * to first frame goes into its histogram once per join, whatever the client repeats; a report
 * before joining or out of bounds is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRoom, uniqueRoom } from '@switchboard/testing';
import { data, joined, request, TestClients } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'sli-test-secret-0123456789abcdef';

describe('SLI reports from browsers', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET });
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  const histogram = async () => {
    const text = await (await fetch(`http://127.0.0.1:${h.signaling[0].port}/metrics`)).text();
    const value = (series: string) =>
      Number(
        new RegExp(`^switchboard_time_to_first_frame_seconds_${series} (\\d+)$`, 'm').exec(text)?.[1] ?? 0,
      );
    return { count: value('count\\{[^}]*\\}'), underOne: value('bucket\\{le="1",[^}]*\\}') };
  };

  it('counts one first frame per join, refusing reports before joining or out of bounds', async () => {
    const room = uniqueRoom('sli');
    await ensureRoom(h.pool, room);
    const client = await clients.connect(h.signaling[0].port, await clients.token(room, 'Ada'));
    const early = await request(client, 'reportFirstFrame', { ms: 500 });
    expect(early).toMatchObject({ ok: false, error: { code: 'FAILED_PRECONDITION' } });
    await joined(client);
    for (const ms of [-1, 120_001, 1.5]) {
      const bad = await request(client, 'reportFirstFrame', { ms });
      expect(bad, `ms ${ms}`).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    }
    expect(await histogram()).toEqual({ count: 0, underOne: 0 });
    expect(data(await request(client, 'reportFirstFrame', { ms: 800 }))).toEqual({ recorded: true });
    // A client repeating itself (or lying a second time) weighs nothing more.
    expect(data(await request(client, 'reportFirstFrame', { ms: 10 }))).toEqual({ recorded: false });
    expect(await histogram()).toEqual({ count: 1, underOne: 1 });
  });
});
