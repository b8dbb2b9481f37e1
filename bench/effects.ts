/**
 * What background blur and noise suppression cost in CPU, measured where nothing else competes
 * for it: one pre-join page (the camera preview and the microphone level meter running, no call)
 * in a Chromium of its own. The e2e measures the same toggles in a browser already using most of
 * the machine's two cores for three participants, where an effect makes the encoders adapt rather
 * than adding CPU; this page does nothing else, so the difference is the effect's.
 *
 * Each run measures the page with no effect, with blur, and with noise suppression (the order
 * rotates run by run), each after SETTLE_MS in that state, over WINDOW_MS: CPU ms per second of
 * every process of that browser (named chrom*, descending from this one), from /proc, and the
 * preview's frame rate (what blur leaves of the camera). Medians over RUNS runs; the cost of an
 * effect is its median minus the median with none, in ms of CPU per second (1000 = one core).
 */
import type { Page } from 'playwright-core';
import { cpuSecondsOfProcesses } from '@switchboard/testing';
import { createRoom, launchChromium, openRoom } from '../test/e2e/browser';
import { startBenchStack } from './stack';
import { summarize } from './stats';

const RUNS = Number(process.env.BENCH_EFFECTS_RUNS ?? 5);
const SETTLE_MS = 4000;
const WINDOW_MS = Number(process.env.BENCH_EFFECTS_WINDOW_MS ?? 10_000);

type State = 'none' | 'blur' | 'noise suppression';
const STATES: State[] = ['none', 'blur', 'noise suppression'];
const BUTTON: Record<Exclude<State, 'none'>, string> = {
  blur: 'Blur background',
  'noise suppression': 'Suppress noise',
};

async function setEffect(page: Page, name: string, on: boolean): Promise<void> {
  const button = page.getByRole('button', { name });
  if (((await button.getAttribute('aria-pressed')) === 'true') !== on) {
    await button.click();
  }
  // "Starting blur…" while the model loads: the named button is back once it runs.
  await page
    .getByRole('button', { name })
    .and(page.locator(`[aria-pressed="${on}"]`))
    .waitFor({ timeout: 60_000 });
}

async function enter(page: Page, state: State): Promise<void> {
  for (const [effect, name] of Object.entries(BUTTON)) {
    await setEffect(page, name, effect === state);
  }
}

/**
 * Frames the camera preview shows over `ms` (requestVideoFrameCallback), per second. A string, so
 * tsx's helpers (`__name`) do not end up in the page.
 */
function previewFps(page: Page, ms: number): Promise<number> {
  return page.evaluate(`(async () => {
    const video = document.querySelector('video[aria-label="Your camera preview"]');
    if (!video) return 0;
    let frames = 0;
    const count = () => { frames++; video.requestVideoFrameCallback(count); };
    video.requestVideoFrameCallback(count);
    await new Promise((resolve) => setTimeout(resolve, ${ms}));
    return frames / (${ms} / 1000);
  })()`);
}

export async function benchEffects(log: (line: string) => void): Promise<void> {
  const stack = await startBenchStack();
  const browser = await launchChromium();
  const cpu: Record<State, number[]> = { none: [], blur: [], 'noise suppression': [] };
  const fps: Record<State, number[]> = { none: [], blur: [], 'noise suppression': [] };
  try {
    const { id: room } = await createRoom(stack.url, { name: 'effects bench' });
    const { page } = await openRoom(browser, stack.url, room, 'Bench');
    const browserCpu = () => cpuSecondsOfProcesses('chrom', { under: process.pid });
    for (let run = 1; run <= RUNS; run++) {
      const order = STATES.map((_, i) => STATES[(i + run - 1) % STATES.length]);
      const line: string[] = [];
      for (const state of order) {
        await enter(page, state);
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const before = browserCpu();
        const t0 = Date.now();
        const shown = await previewFps(page, WINDOW_MS);
        const msPerSecond = ((browserCpu() - before) * 1000) / ((Date.now() - t0) / 1000);
        cpu[state].push(Math.round(msPerSecond));
        fps[state].push(Math.round(shown * 10) / 10);
        line.push(`${state} ${Math.round(msPerSecond)} ms/s (preview ${shown.toFixed(1)} fps)`);
      }
      log(`    run ${run}/${RUNS}: ${line.join('; ')}`);
    }
    await enter(page, 'none');
  } finally {
    await browser.close();
    await stack.stop();
  }
  const median = (values: number[]) => summarize(values).p50;
  const base = median(cpu.none);
  log(
    `    browser CPU, median of ${RUNS} runs of ${WINDOW_MS / 1000} s (ms of CPU per second; 1000 = one core):`,
  );
  for (const state of STATES) {
    const m = median(cpu[state]);
    const cost =
      state === 'none'
        ? ''
        : `  cost ${m - base >= 0 ? '+' : ''}${m - base} ms/s (${(m / base).toFixed(2)}× none)`;
    log(
      `      ${state.padEnd(18)} ${String(m).padStart(5)} ms/s  (runs ${cpu[state].join(', ')}; spread ${Math.min(...cpu[state])}–${Math.max(...cpu[state])})${cost}; preview median ${median(fps[state])} fps`,
    );
  }
}
