/**
 * The largest call the end-to-end suite runs: six Chromium participants (low-resolution fake
 * cameras, `?camera=low`) in one room on the native stack; everyone sees everyone's video playing,
 * and it keeps playing.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, Stack } from '../../scripts/Stack';
import {
  clickJoin,
  E2E_BACKENDS,
  createRoom,
  frameCounts,
  launchChromium,
  openRoom,
  waitForRemoteVideos,
  type Participant,
} from './browser';
import { E2E_PORTS } from './ports';

// Six real browsers: eight decoding tabs are more than 2 cores carry (since 2026-12-05 the run failed
// at 21cbbc5 as well: tabs starved past socket.io's ping timeout and page loads past 30 s), so the
// load generator, not the call, was what the test measured. Larger calls are measured with
// synthetic peers that do not decode (npm run loadtest, loadtest.e2e).
const NAMES = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret'];

describe('a 6-participant call', () => {
  let stack: Stack;
  let browser: Browser;
  const participants: Participant[] = [];

  beforeAll(async () => {
    stack = await Stack.start({
      ...E2E_BACKENDS,
      ports: E2E_PORTS,
      runDir: join(ROOT, '.run/e2e-large'),
      prometheus: false,
      log: () => {},
      // Eight decoding tabs saturate 2 cores: a starved tab can leave socket.io's ping unanswered
      // for 20 s and be dropped (and rejoin). That is the load generator failing, not the call.
      env: { SIGNALING_PING_TIMEOUT_MS: '90000' },
    });
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  it('everyone sees everyone', async () => {
    const room = (await createRoom(stack.url)).id;
    for (const name of NAMES) {
      const participant = await openRoom(browser, stack.url, room, name, 'camera=low');
      participants.push(participant);
      await clickJoin(participant);
      await participant.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 30_000 });
    }
    // Up to 2 minutes per viewer: on a slower machine of this kind (2026-12-07) a starved tab took
    // over 76 s to start playing the last joiner's video in 2 of 3 runs (its consumer was created at
    // once; the tab's resume came late or not within the 60 s allowed before), and the run passed in
    // 150-170 s otherwise. A tab that never plays a video still fails.
    for (const participant of participants) {
      await waitForRemoteVideos(
        participant,
        NAMES.filter((n) => n !== participant.name),
        120_000,
      );
    }
    // Still playing: the last one's view of every other advances.
    const last = participants[participants.length - 1];
    const others = NAMES.slice(0, -1);
    const before = await frameCounts(last, others);
    // 15 fps for 6 s: ~90 frames if nothing is starved; at least 5 new ones counts as playing
    // (8 decoding tabs saturate 2 cores here, so a short window can catch a tab that is paused).
    await new Promise((r) => setTimeout(r, 6000));
    const after = await frameCounts(last, others);
    for (const name of others) {
      expect(after[name], `${name}'s video advancing for ${last.name}`).toBeGreaterThan(before[name] + 5);
    }
    await last.page.screenshot({ path: join(ROOT, 'docs/screens/call-six.png') });
  }, 480_000);
});
