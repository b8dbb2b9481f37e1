/**
 * Checks on a playing video shared by the e2e tests. Apart from browser.ts, which the benchmarks
 * import too, because it uses vitest's `expect`.
 */
import { expect } from 'vitest';
import { frameCounts, type Participant } from './browser';

/**
 * `viewer` keeps decoding `name`'s video: more than `by` new frames within `timeout` ms. Counted
 * from the video element that plays it: if the tile shows no video at first (-1: a state in its
 * place), from when it does, with what the tile showed in the message.
 */
export async function framesAdvance(
  viewer: Participant,
  name: string,
  by: number,
  timeout: number,
): Promise<void> {
  const count = async () => (await frameCounts(viewer, [name]))[name];
  const tile = () =>
    viewer.page
      .evaluate(
        (name) =>
          [...document.querySelectorAll('.tile')]
            .filter((t) => t.querySelector('.name')?.textContent?.includes(name))
            .map((t) => `${t.getAttribute('data-presence')}: ${t.textContent}`)
            .join(' | ') || 'no tile',
        name,
      )
      .catch(() => 'unknown');
  let before = await count();
  if (before < 0) {
    const seen = await tile();
    console.info(`${name}'s tile at ${viewer.name} showed no video (${seen}); waiting for it`);
    await expect
      .poll(count, { timeout, message: `${name}'s video at ${viewer.name} (tile was ${seen})` })
      .toBeGreaterThanOrEqual(0);
    before = await count();
  }
  await expect
    .poll(count, { timeout, message: `${name}'s video at ${viewer.name} plays on (from ${before} frames)` })
    .toBeGreaterThan(before + by);
}
