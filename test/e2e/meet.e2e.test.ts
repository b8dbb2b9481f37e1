/**
 * Meet someone end to end: three Chromium guests at /meet behind NGINX. The first two are matched
 * and see each other's video (the partner's <video> is labelled "Stranger"), talking through the
 * SFU; one presses Next and meets the third, while the one left behind is told and waits again;
 * a report ends a match and shows in the operators' moderation list (console, Reports); here one
 * report keeps the reported out (MATCH_EXCLUDE_AFTER_REPORTS=1): they are told, the console lists
 * them, an operator lifts it and they meet people again.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, Stack } from '../../scripts/Stack';
import {
  E2E_BACKENDS,
  E2E_ENV,
  E2E_OPERATOR,
  launchChromium,
  marksSince,
  operatorClient,
  signedInContext,
  watchCsp,
} from './browser';
import { E2E_PORTS } from './ports';

const shot = (page: Page, name: string) => page.screenshot({ path: join(ROOT, `docs/screens/${name}.png`) });

describe('Meet someone: random one-to-one calls in the browser', () => {
  let stack: Stack;
  let browser: Browser;
  const pages: Record<string, Page> = {};
  /** When each arrived (epoch ms), for a failure's marks. */
  const arrivedAt: Record<string, number> = {};

  /** Opens /meet as `name` (a guest), fills the form and presses Start. */
  const arrive = async (name: string, interests = '') => {
    const context = watchCsp(await browser.newContext({ permissions: ['camera', 'microphone'] }));
    await context.addInitScript(() => {
      // Camera frames at a low resolution: three tabs on two cores.
      const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = (c) =>
        original(c?.video ? { ...c, video: { width: 320, height: 180, frameRate: 15 } } : c);
    });
    arrivedAt[name] = Date.now();
    const page = await context.newPage();
    await page.setViewportSize({ width: 1200, height: 800 });
    await page.goto(`${stack.url}/meet`);
    await page.getByLabel('Your camera preview').waitFor();
    await page.getByLabel('Your name').fill(name);
    if (interests) {
      await page.getByLabel(/Interests/).fill(interests);
    }
    await page.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Start' }).click();
    pages[name] = page;
    return page;
  };
  /**
   * The stranger's video plays (frames decoded) on `name`'s page. On a timeout the page's marks
   * since it arrived and its stranger video's state go to the log before the failure.
   */
  const seesStranger = async (name: string) => {
    const page = pages[name];
    try {
      await page.waitForFunction(
        () => {
          const video = document.querySelector<HTMLVideoElement>('video[aria-label="Stranger"]');
          return !!video && video.readyState >= 2 && video.getVideoPlaybackQuality().totalVideoFrames > 0;
        },
        null,
        { timeout: 30_000, polling: 100 },
      );
    } catch (error) {
      const video = await page
        .evaluate(() => {
          const v = document.querySelector<HTMLVideoElement>('video[aria-label="Stranger"]');
          return v
            ? { readyState: v.readyState, frames: v.getVideoPlaybackQuality().totalVideoFrames }
            : null;
        })
        .catch(() => 'page gone');
      console.info(
        `${await marksSince({ name, page }, arrivedAt[name] ?? 0)}\nstranger video: ${JSON.stringify(video)}`,
      );
      throw error;
    }
  };

  beforeAll(async () => {
    stack = await Stack.start({
      ...E2E_BACKENDS,
      ports: E2E_PORTS,
      runDir: join(ROOT, '.run/e2e-meet'),
      mediaWorkers: 1,
      env: {
        ...E2E_ENV,
        MATCH_FALLBACK_MS: '1000',
        // One report keeps the reported out; by identity only, as every browser here comes from
        // 127.0.0.1 (exclusion by address: Match.test, with forwarded addresses).
        MATCH_EXCLUDE_AFTER_REPORTS: '1',
        MATCH_EXCLUDE_BY_ADDRESS: 'false',
      },
      prometheus: false,
      log: () => {},
    });
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  it('waits with a camera preview and the time waited until someone else arrives', async () => {
    const ada = await arrive('Ada', 'chess, jazz');
    await ada.getByText('Looking for someone…').waitFor();
    await shot(ada, 'meet-waiting');
  });

  it('matches two strangers who see and hear each other through the SFU, with their shared interest', async () => {
    // Bob also likes go, which only Cy (below) shares: Cy meets him, not Ada, whoever of the two
    // went back to the queue first after Next.
    const bob = await arrive('Bob', 'Jazz, go');
    await Promise.all([seesStranger('Ada'), seesStranger('Bob')]);
    await pages.Ada.getByText('You are talking with Bob · you both like jazz').waitFor();
    await bob.getByText('You are talking with Ada').waitFor();
    await shot(bob, 'meet-matched');
  });

  it('moves the one who presses Next on to the third stranger; the one left behind is told and waits again', async () => {
    await pages.Bob.getByRole('button', { name: 'Next' }).click();
    await pages.Ada.getByText('The stranger moved on. Looking for someone new…').waitFor({ timeout: 10_000 });
    const cy = await arrive('Cy', 'go');
    await Promise.all([seesStranger('Cy'), seesStranger('Bob')]);
    await cy.getByText('You are talking with Bob').waitFor();
    // Ada and Bob just met: Ada is not matched with Bob again, she waits.
    await pages.Ada.getByText('Looking for someone…').waitFor();
  });

  it('ends a match with a report that operators find in the moderation list; the reported is kept out until an operator lifts it', async () => {
    const cy = pages.Cy;
    await cy.getByRole('button', { name: 'Report' }).click();
    await cy.getByLabel('What happened?').selectOption('spam');
    await shot(cy, 'meet-report');
    await cy.getByRole('button', { name: 'Send report' }).click();
    await cy.getByText('Reported: thank you').waitFor({ timeout: 10_000 });
    // One report is enough here: Bob is told he is kept out, with until when.
    const bob = pages.Bob;
    await bob.getByText('You are kept out of Meet someone for now').waitFor({ timeout: 10_000 });
    await bob.getByText(/Reported by 1 person, so you cannot meet anyone until/).waitFor();
    await shot(bob, 'meet-excluded');

    await operatorClient(stack.url);
    const context = await signedInContext(browser, stack.url, E2E_OPERATOR);
    const console_ = await context.newPage();
    await console_.goto(`${stack.url}/console#reports`);
    const row = console_.getByRole('row', { name: /spam/ });
    await row.first().waitFor({ timeout: 10_000 });
    expect(await row.count()).toBeGreaterThanOrEqual(1);
    // Bob's exclusion (the test database keeps those of earlier runs): Lift, confirmed.
    const bobId = await bob.evaluate(() => localStorage.getItem('sb:guest-id'));
    const kept = console_.getByRole('region', { name: 'Kept out of Meet someone' });
    const lift = kept.getByRole('button', { name: `Lift the exclusion of guest:${bobId}` });
    await lift.waitFor({ timeout: 10_000 });
    await shot(console_, 'console-reports');
    await lift.click();
    await console_.getByRole('dialog').getByRole('button', { name: 'Lift' }).click();
    await lift.waitFor({ state: 'detached', timeout: 10_000 });

    // Lifted: Bob starts again and waits for someone.
    await bob.getByRole('button', { name: 'Back' }).click();
    await bob.getByRole('checkbox').check();
    await bob.getByRole('button', { name: 'Start' }).click();
    await bob.getByText('Looking for someone…').waitFor({ timeout: 10_000 });
  });
});
