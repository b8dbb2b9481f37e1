/**
 * Join latency as a user feels it: on the native stack through NGINX, two Chromium participants
 * are in a room; the third clicks Join and we time until both remote videos play (a decoded
 * frame each). Repeated in fresh rooms; the median is the number to watch.
 */
import { join } from 'node:path';
import { ROOT, Stack } from '../scripts/Stack';
import {
  clickJoin,
  E2E_BACKENDS,
  createRoom,
  joinTimeline,
  launchChromium,
  openRoom,
  waitForRemoteVideos,
} from '../test/e2e/browser';
import { E2E_PORTS } from '../test/e2e/ports';
import { summarize } from './stats';

const RUNS = Number(process.env.BENCH_JOIN_RUNS ?? 5);

export async function benchJoin(log: (line: string) => void): Promise<{ runs: number[]; median: number }> {
  const stack = await Stack.start({
    ...E2E_BACKENDS,
    ports: E2E_PORTS,
    runDir: join(ROOT, '.run/bench'),
    log: () => {},
    prometheus: false,
    logLevel: 'warn',
  });
  const browser = await launchChromium();
  const runs: number[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const { id: room } = await createRoom(stack.url, { name: `bench ${run}` });
      const first = await openRoom(browser, stack.url, room, 'Ada');
      await clickJoin(first);
      const second = await openRoom(browser, stack.url, room, 'Grace');
      await clickJoin(second);
      await waitForRemoteVideos(first, ['Grace']);
      await waitForRemoteVideos(second, ['Ada']);
      const third = await openRoom(browser, stack.url, room, 'Linus');
      await clickJoin(third);
      const playing = await waitForRemoteVideos(third, ['Ada', 'Grace']);
      const ms = playing - (third.clickedAt ?? playing);
      runs.push(ms);
      const timeline = (await joinTimeline(third)).map(([name, t]) => `${name} +${t}`).join(', ');
      log(`    run ${run}/${RUNS}: ${ms} ms  (${timeline})`);
      for (const p of [first, second, third]) {
        await p.context.close();
      }
    }
  } finally {
    await browser.close();
    await stack.stop();
  }
  return { runs, median: summarize(runs).p50 };
}
