/**
 * End to end: the native stack (Consul, media with real mediasoup workers, signaling, gateway,
 * ui, log-viewer, NGINX, Prometheus) and three real headless Chromium participants joining one
 * room through NGINX. Each must see the other two videos playing and hear the others.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, cpuSecondsOfProcesses, newAccount, randomAddress } from '@switchboard/testing';
import { ROOT, Stack } from '../../scripts/Stack';
import {
  clickJoin,
  cspViolations,
  E2E_BACKENDS,
  createRoom,
  E2E_ENV,
  E2E_OPERATOR,
  frameCounts,
  joinTimeline,
  launchChromium,
  leaveAndClose,
  marksSince,
  openRoom,
  operatorClient,
  signedInContext,
  remoteAudioPeak,
  waitForRemoteVideos,
  watchCsp,
  type Participant,
} from './browser';
import { framesAdvance } from './frames';
import { E2E_PORTS } from './ports';

const NAMES = ['Ada', 'Grace', 'Linus'];

describe('a three-party call through every component', () => {
  let stack: Stack;
  let browser: Browser;
  const participants: Participant[] = [];
  let room: string;
  /** The account that created the meeting (its host, who may see its calls). */
  let roomHost: ApiClient;
  /**
   * A test's extra participant (Phone, Relay, Hopper), left and closed after the test whatever its
   * end. Not in the test's own `finally`: a test that timed out runs that only once its pending
   * step ends, while the next test has started (a CI run saw the next two tests count the stranded
   * Phone's tile); `afterEach` runs before the next test.
   */
  const guests = new Set<Participant>();

  beforeAll(async () => {
    stack = await Stack.start({
      ...E2E_BACKENDS,
      ports: E2E_PORTS,
      runDir: join(ROOT, '.run/e2e'),
      log: () => {},
      restart: true,
      env: E2E_ENV,
    });
    browser = await launchChromium();
    ({ id: room, host: roomHost } = await createRoom(stack.url, { name: 'E2E call' }));
  }, 240_000);

  afterEach(async () => {
    for (const guest of guests) {
      await leaveAndClose(guest);
    }
    guests.clear();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  it('joins three browsers that each see the other two videos playing', async () => {
    for (const name of NAMES) {
      const participant = await openRoom(browser, stack.url, room, name);
      participants.push(participant);
      await clickJoin(participant);
      await participant.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    }
    for (const participant of participants) {
      const others = NAMES.filter((n) => n !== participant.name);
      await waitForRemoteVideos(participant, others);
    }
    const third = participants[2];
    const playingAt = await waitForRemoteVideos(third, ['Ada', 'Grace']);
    console.info(
      `third joiner: Join click → all remote videos playing in ${playingAt - (third.clickedAt ?? 0)} ms`,
    );
    // Its receiving transport was made and brought up while the preview showed, and the join
    // answer handed it back with the consumers (no transport asked for after the click).
    const marks = (await joinTimeline(third)).map(([name]) => name);
    expect(marks, marks.join(' · ')).toContain('receiving on the prepared transport');
    expect(marks).not.toContain('→ createWebRtcTransport');

    // Frames keep advancing (real decoding, not a frozen first frame), by 5 within 10 s each. A fixed
    // 1.5 s window failed once on 'Ada sees Grace', cause not seen: the third joiner reflows every
    // grid, a tile whose height changed may switch simulcast layer and wait for its key frame, and
    // until views were applied in order (KeyedSerial) a reordered view could leave it paused.
    for (const p of participants) {
      for (const name of NAMES.filter((n) => n !== p.name)) {
        await framesAdvance(p, name, 5, 10_000);
      }
    }
  }, 120_000);

  it('explains an invalid room name instead of offering to join it', async () => {
    const page = await participants[0].context.newPage();
    await page.goto(`${stack.url}/r/Not%20A%20Room`);
    // (Next.js adds a route announcer with role=alert too, hence the text match.)
    await page.getByText(/must be 1-64 lowercase letters, digits or dashes/).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('button', { name: 'Join' }).count()).toBe(0);
    // A well-formed link that no meeting has is explained too (anonymous users cannot create rooms).
    await page.goto(`${stack.url}/r/no-such-meeting-here`);
    await page.getByText(/no meeting has this link/i).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('button', { name: 'Join' }).count()).toBe(0);
    await page.close();
  });

  it('shows one tile per participant and the controls', async () => {
    const page = participants[0].page;
    expect(await page.locator('.tile').count()).toBe(3);
    for (const label of ['Mute microphone', 'Turn camera off', 'Leave']) {
      await expect(page.getByRole('button', { name: label }).isVisible()).resolves.toBe(true);
    }
  });

  it('carries each microphone to the others (audio heard, not just a track)', async () => {
    const [ada, grace] = participants;
    expect(await remoteAudioPeak(ada, 'Grace')).toBeGreaterThan(0.01);
    expect(await remoteAudioPeak(grace, 'Linus')).toBeGreaterThan(0.01);
  });

  it('shows the others when someone mutes the microphone or turns the camera off', async () => {
    const [ada, grace] = participants;
    const adaTile = grace.page.locator('.tile', { has: grace.page.locator('video[aria-label="Ada"]') });
    await ada.page.getByRole('button', { name: 'Mute microphone' }).click();
    await expect.poll(() => adaTile.locator('.name').textContent(), { timeout: 10_000 }).toBe('Ada (muted)');
    await new Promise((r) => setTimeout(r, 700)); // let the receiver's jitter buffer drain
    expect(await remoteAudioPeak(grace, 'Ada', 1500)).toBeLessThan(0.001); // silence while muted
    await ada.page.getByRole('button', { name: 'Turn camera off' }).click();
    await expect
      .poll(() => adaTile.locator('.name').textContent(), { timeout: 10_000 })
      .toBe('Ada (muted) (camera off)');
    await ada.page.getByRole('button', { name: 'Unmute microphone' }).click();
    await ada.page.getByRole('button', { name: 'Turn camera on' }).click();
    await expect.poll(() => adaTile.locator('.name').textContent(), { timeout: 10_000 }).toBe('Ada');
    // Video flows again after the camera comes back.
    await framesAdvance(grace, 'Ada', 5, 10_000);
  });

  /** A row of the stats panel (the SFU's consumer stats) for `name`'s video, in `viewer`'s page. */
  const videoRow = async (viewer: Participant, name: string) => {
    const peerId = await viewer.page
      .locator('.tile', { has: viewer.page.locator(`video[aria-label="${name}"]`) })
      .getAttribute('data-peer-id');
    return viewer.page.locator(`.stats tr[data-peer-id="${peerId}"][data-kind="video"]`);
  };

  it('sends a pinned (large) tile a higher simulcast layer than the small ones, per the SFU', async () => {
    const [ada] = participants;
    await ada.page.getByRole('button', { name: 'Stats' }).click();
    await ada.page.getByRole('button', { name: 'Pin Grace' }).click();
    const grace = await videoRow(ada, 'Grace');
    const linus = await videoRow(ada, 'Linus');
    const layer = async (row: typeof grace) => Number((await row.getAttribute('data-layer')) || -1);
    const tileHeight = (name: string) =>
      ada.page.evaluate(
        (n) =>
          document.querySelector(`video[aria-label="${n}"]`)?.closest('.tile')?.getBoundingClientRect()
            .height ?? 0,
        name,
      );
    expect(await tileHeight('Grace')).toBeGreaterThan(300);
    expect(await tileHeight('Linus')).toBeLessThan(200);
    await expect.poll(() => layer(linus), { timeout: 30_000, interval: 500 }).toBe(0);
    await expect.poll(() => layer(grace), { timeout: 30_000, interval: 500 }).toBeGreaterThan(0);
    console.info(`pinned tile layer ${await layer(grace)}, strip tile layer ${await layer(linus)}`);
    await ada.page.screenshot({ path: join(ROOT, 'docs/screens/call-pinned-stats.png') });
    // Unpinned, both tiles are equal again and so are their layers.
    await ada.page.getByRole('button', { name: 'Unpin Grace' }).click();
    await expect
      .poll(async () => (await layer(grace)) - (await layer(linus)), { timeout: 30_000, interval: 500 })
      .toBe(0);
    await ada.page.getByRole('button', { name: 'Close statistics' }).click();
  });

  it('pauses the video of a tile scrolled out of view and resumes it when it shows again', async () => {
    const [ada] = participants;
    await ada.page.getByRole('button', { name: 'Stats' }).click();
    const linus = await videoRow(ada, 'Linus');
    // In front: a page behind others may not run its rendering steps, which deliver intersections.
    await ada.page.bringToFront();
    const hiddenAt = Date.now();
    try {
      await ada.page.setViewportSize({ width: 360, height: 420 }); // one column, the last tile below the fold
      await expect.poll(() => linus.getAttribute('data-paused'), { timeout: 15_000 }).toBe('true');
    } finally {
      // Back to the desktop layout even when this failed, so the tests after it are not on a phone.
      await ada.page.setViewportSize({ width: 1280, height: 720 });
    }
    const shownAt = Date.now();
    await expect.poll(() => linus.getAttribute('data-paused'), { timeout: 15_000 }).toBe('false');
    // (The stats panel shows the SFU's view every 2 s: each is 2-4 s when all is well.)
    console.info(
      `tile hidden: paused in ${shownAt - hiddenAt} ms; shown: resumed in ${Date.now() - shownAt} ms`,
    );
    await framesAdvance(ada, 'Linus', 5, 10_000);
    await ada.page.getByRole('button', { name: 'Close statistics' }).click();
  });

  it("floats a reaction over the sender's tile on everyone's screen, then it goes", async () => {
    const [ada, grace, linus] = participants;
    await ada.page.getByRole('button', { name: 'Reactions' }).click();
    await ada.page.getByRole('button', { name: 'React with applause' }).click();
    await ada.page.getByRole('img', { name: 'You reacted with applause' }).waitFor({ timeout: 10_000 });
    for (const other of [grace, linus]) {
      const tile = other.page.locator('.tile', { has: other.page.locator('video[aria-label="Ada"]') });
      await tile.getByRole('img', { name: 'Ada reacted with applause' }).waitFor({ timeout: 10_000 });
    }
    await grace.page.screenshot({ path: join(ROOT, 'docs/screens/call-reaction.png') });
    // Keyboard: the menu opens from the button, Escape closes it.
    await linus.page.getByRole('button', { name: 'Reactions' }).focus();
    await linus.page.keyboard.press('Enter');
    await linus.page.getByRole('group', { name: 'Send a reaction' }).waitFor();
    await linus.page.keyboard.press('Escape');
    await linus.page.getByRole('group', { name: 'Send a reaction' }).waitFor({ state: 'detached' });
    // Not kept: gone from every screen after a few seconds.
    await grace.page
      .getByRole('img', { name: 'Ada reacted with applause' })
      .waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('outlines whoever speaks and shows their microphone level', async () => {
    const [, grace, linus] = participants;
    for (const quiet of [grace, linus]) {
      await quiet.page.getByRole('button', { name: 'Mute microphone' }).click();
    }
    const adaTile = grace.page.locator('.tile', { has: grace.page.locator('video[aria-label="Ada"]') });
    await expect.poll(() => adaTile.getAttribute('data-speaking'), { timeout: 20_000 }).toBe('true');
    expect(await grace.page.locator('.tile[data-speaking="true"]').count()).toBe(1);
    // The level bar moves with Ada's (beeping) fake microphone.
    await expect
      .poll(() => adaTile.locator('.level').evaluate((el) => getComputedStyle(el).transform), {
        timeout: 10_000,
      })
      .not.toBe('matrix(1, 0, 0, 0, 0, 0)');
    // Each tile shows a connection quality measured by the SFU.
    await expect
      .poll(() => adaTile.getAttribute('data-quality'), { timeout: 10_000 })
      .toMatch(/good|fair|poor/);
    for (const quiet of [grace, linus]) {
      await quiet.page.getByRole('button', { name: 'Unmute microphone' }).click();
    }
  });

  it("switches the camera mid-call without renegotiating, the others' view playing on, and remembers it", async () => {
    const [ada, grace] = participants;
    await ada.page.getByRole('button', { name: 'Settings' }).click();
    const camera = ada.page.getByLabel('Camera');
    await camera.waitFor();
    const options = await camera.locator('option').allTextContents();
    expect(options).toEqual(['fake_device_0', 'fake_device_1', 'fake_device_2']);
    expect(await ada.page.getByLabel('Microphone').locator('option').count()).toBeGreaterThan(1);
    await camera.selectOption({ label: 'fake_device_2' });
    // The producer's track was replaced (no new producer, no renegotiation).
    await ada.page.waitForFunction(
      () => performance.getEntriesByName('sb:replaced video track').length > 0,
      null,
      { timeout: 10_000 },
    );
    await framesAdvance(grace, 'Ada', 10, 10_000);
    // Remembered: the next pre-join screen in this browser opens the same camera.
    const again = await ada.context.newPage();
    try {
      await again.goto(`${stack.url}/r/${room}?name=Ada`);
      await again.getByLabel('Your camera preview').waitFor();
      const chosen = again.getByLabel('Camera');
      await expect
        .poll(() => chosen.locator('option:checked').textContent(), { timeout: 10_000 })
        .toBe('fake_device_2');
      await again.getByRole('img', { name: 'Microphone level' }).waitFor();
      await again.screenshot({ path: join(ROOT, 'docs/screens/prejoin-devices.png') });
    } finally {
      await again.close();
    }
    await camera.selectOption({ label: 'fake_device_0' });
    await ada.page.getByRole('button', { name: 'Settings' }).click();
  }, 60_000);

  it("falls back to another camera when the one in use is unplugged, with a notice, the others' view playing on", async () => {
    const [ada, grace] = participants;
    await ada.page.getByRole('button', { name: 'Settings' }).click();
    const camera = ada.page.getByLabel('Camera');
    await camera.selectOption({ label: 'fake_device_2' });
    await expect
      .poll(() => camera.locator('option:checked').textContent(), { timeout: 10_000 })
      .toBe('fake_device_2');
    await framesAdvance(grace, 'Ada', 5, 10_000);
    const replacedBefore = await ada.page.evaluate(
      () => performance.getEntriesByName('sb:replaced video track').length,
    );
    // Unplugged: the browser ends the device's track (fake devices cannot be pulled out, so the
    // page gets the same 'ended' event a real unplug fires).
    const ended = await ada.page.evaluate(() => {
      for (const video of document.querySelectorAll('video')) {
        const track = (video.srcObject as MediaStream | null)?.getVideoTracks()[0];
        if (track?.label === 'fake_device_2') {
          track.dispatchEvent(new Event('ended'));
          return true;
        }
      }
      return false;
    });
    expect(ended).toBe(true);
    await ada.page.getByText('Your camera stopped; switched to fake_device_0.').waitFor({ timeout: 10_000 });
    await expect
      .poll(() => camera.locator('option:checked').textContent(), { timeout: 10_000 })
      .toBe('fake_device_0');
    // The producer's track was swapped again, and Grace keeps seeing Ada move.
    await ada.page.waitForFunction(
      (before) => performance.getEntriesByName('sb:replaced video track').length > before,
      replacedBefore,
      { timeout: 10_000 },
    );
    await framesAdvance(grace, 'Ada', 10, 10_000);
    await ada.page.screenshot({ path: join(ROOT, 'docs/screens/call-camera-unplugged.png') });
    await ada.page.getByRole('button', { name: 'Dismiss' }).click();
    await ada.page.getByRole('button', { name: 'Settings' }).click();
  }, 60_000);

  it('blurs the background and suppresses noise while the others keep receiving (CPU cost of each)', async () => {
    const [ada, grace] = participants;
    const startedAt = Date.now();
    const cpuPerSecond = async (ms: number) => {
      // Every Chromium process's CPU time from /proc, in ms per second of the stretch.
      const start = cpuSecondsOfProcesses('chrom');
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, ms));
      return ((cpuSecondsOfProcesses('chrom') - start) * 1000) / ((Date.now() - t0) / 1000);
    };
    try {
      const peakBefore = await remoteAudioPeak(grace, 'Ada');
      const base = await cpuPerSecond(8000);
      await ada.page.getByRole('button', { name: 'Settings' }).click();
      await ada.page.getByRole('button', { name: 'Blur background' }).click();
      await expect
        .poll(() => ada.page.getByRole('button', { name: 'Blur background' }).getAttribute('aria-pressed'), {
          timeout: 30_000,
        })
        .toBe('true');
      await ada.page.waitForFunction(
        () => performance.getEntriesByName('sb:replaced video track').length >= 3,
        null,
        { timeout: 20_000 },
      );
      // Up to a minute for 5 frames: in Chromium without a GPU (this e2e) the blurred video runs at
      // about 2 frames a second at the sender (a known limit, see docs/benchmarks.md: each canvas
      // draw waits 0.4 s for the GPU process, which emulates MediaPipe's WebGL in software), and a
      // CI run on a busier machine got exactly 5 in 30 s.
      await framesAdvance(grace, 'Ada', 5, 60_000);
      const framesBefore = (await frameCounts(grace, ['Ada'])).Ada;
      const withBlur = await cpuPerSecond(8000);
      const blurredFps = ((await frameCounts(grace, ['Ada'])).Ada - framesBefore) / 8;
      await ada.page.screenshot({ path: join(ROOT, 'docs/screens/call-blur-settings.png') });
      await ada.page.getByRole('button', { name: 'Suppress noise' }).click();
      await expect
        .poll(() => ada.page.getByRole('button', { name: 'Suppress noise' }).getAttribute('aria-pressed'), {
          timeout: 30_000,
        })
        .toBe('true');
      await ada.page.waitForFunction(
        () => performance.getEntriesByName('sb:replaced audio track').length > 0,
        null,
        {
          timeout: 20_000,
        },
      );
      const withBoth = await cpuPerSecond(8000);
      // Grace still receives Ada's sound (RNNoise takes the steady tone of the fake microphone for
      // noise, so it is much quieter, but the track flows).
      const peakAfter = await remoteAudioPeak(grace, 'Ada');
      expect(peakAfter).toBeGreaterThan(0.0005);
      await framesAdvance(grace, 'Ada', 5, 60_000);
      console.info(
        `effects: Chromium CPU (3 participants in one browser) ${Math.round(base)} ms/s; ` +
          `blur +${Math.round(withBlur - base)} ms/s; noise suppression +${Math.round(withBoth - withBlur)} ms/s; ` +
          `Ada's blurred video at Grace ${blurredFps.toFixed(1)} fps; ` +
          `Ada's audio peak at Grace ${peakBefore.toFixed(3)} → ${peakAfter.toFixed(4)}`,
      );
    } finally {
      // What Ada's call went through meanwhile (a reconnect shows why: lost, failed, ICE).
      console.info(`marks since the blur test began: ${await marksSince(ada, startedAt)}`);
      // Ada goes on to the next tests with neither effect on and Settings closed, pass or fail.
      for (const name of ['Blur background', 'Suppress noise']) {
        const button = ada.page.getByRole('button', { name });
        if ((await button.getAttribute('aria-pressed', { timeout: 2000 }).catch(() => null)) === 'true') {
          await button.click();
        }
      }
      if ((await ada.page.getByRole('complementary', { name: 'Settings' }).count()) > 0) {
        await ada.page.getByRole('button', { name: 'Settings' }).click();
      }
    }
  }, 180_000);

  it('fits a phone: the video and the controls both in view, the rest in a More menu', async () => {
    const context = watchCsp(
      await browser.newContext({
        permissions: ['camera', 'microphone'],
        viewport: { width: 390, height: 844 },
      }),
    );
    const page = await context.newPage();
    const phone = { name: 'Phone', context, page };
    guests.add(phone);
    // A fourth sender at one low layer: this checks the layout, and a 2-core machine already
    // encodes three 720p simulcast cameras.
    await page.goto(`${stack.url}/r/${room}?name=Phone&camera=low`);
    await page.getByLabel('Your camera preview').waitFor();
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    await waitForRemoteVideos(phone, ['Ada']);
    const box = async (selector: string) => {
      const b = await page.locator(selector).first().boundingBox();
      if (!b) {
        throw new Error(`${selector} is not shown`);
      }
      return b;
    };
    const controls = await box('.controls');
    const video = await box('video[aria-label="Ada"]');
    expect(controls.y + controls.height).toBeLessThanOrEqual(844 + 1);
    expect(controls.x + controls.width).toBeLessThanOrEqual(390 + 1);
    // The first videos are above the bar, not under it.
    const self = await box('.tile.local');
    expect(self.y + self.height).toBeLessThanOrEqual(controls.y);
    expect(video.width).toBeGreaterThan(300);
    // One row of controls: the rest is behind More.
    expect(controls.height).toBeLessThan(90);
    expect(await page.getByRole('button', { name: 'Raise hand' }).count()).toBe(0);
    await page.screenshot({ path: join(ROOT, 'docs/screens/call-phone.png') });
    await page.getByRole('button', { name: 'More' }).click();
    await page.getByRole('button', { name: 'Raise hand' }).waitFor();
    await page.screenshot({ path: join(ROOT, 'docs/screens/call-phone-more.png') });
    await page.getByRole('button', { name: 'Raise hand' }).click();
    await participants[0].page.getByRole('img', { name: /Phone raised a hand/ }).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Lower hand' }).click(); // the menu stays open
  }, 90_000);

  it('shows a screen share large to the others, one sharer at a time, until the sharer stops it', async () => {
    const [ada, grace, linus] = participants;
    await grace.page.getByRole('button', { name: 'Share screen' }).click();
    await grace.page.getByRole('button', { name: 'Stop sharing' }).waitFor({ timeout: 10_000 });
    await waitForRemoteVideos(ada, ["Grace's screen"]);
    await waitForRemoteVideos(linus, ["Grace's screen"]);
    const screenTile = ada.page.locator('.tile[data-source="screen"]');
    await expect.poll(() => screenTile.getAttribute('data-pinned'), { timeout: 5000 }).toBe('true');
    // The cameras (Grace's too) stay, in the strip.
    expect(await ada.page.locator('.tile:not([data-source])').count()).toBe(3);
    await framesAdvance(ada, "Grace's screen", 5, 10_000);
    await ada.page.screenshot({ path: join(ROOT, 'docs/screens/call-screen-share.png') });

    // Someone else cannot share at the same time (no host allowed more): they are told why.
    await linus.page.getByRole('button', { name: 'Share screen' }).click();
    await linus.page.getByRole('alert').filter({ hasText: 'Grace is already sharing their screen' }).waitFor({
      timeout: 10_000,
    });
    expect(await linus.page.getByRole('button', { name: 'Share screen' }).count()).toBe(1);

    // Grace stops from the browser's own "Stop sharing" bar: the track ends.
    await grace.page.evaluate(() => {
      const video = document.querySelector<HTMLVideoElement>('video[aria-label="Your screen"]');
      const track = (video?.srcObject as MediaStream).getVideoTracks()[0];
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    await grace.page.getByRole('button', { name: 'Share screen' }).waitFor({ timeout: 10_000 });
    await expect.poll(() => screenTile.count(), { timeout: 10_000 }).toBe(0);
    await expect
      .poll(() => linus.page.locator('.tile[data-source="screen"]').count(), { timeout: 10_000 })
      .toBe(0);
    expect(await ada.page.locator('.grid.spotlight').count()).toBe(0);
  });

  it('carries a call through coturn when only relayed media is allowed (?relay)', async () => {
    // A fourth sender at one low layer: this checks the path through TURN.
    const relay = await openRoom(browser, stack.url, room, 'Relay', 'relay&camera=low');
    guests.add(relay);
    await clickJoin(relay);
    await relay.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    await waitForRemoteVideos(relay, NAMES);
    await waitForRemoteVideos(participants[0], ['Relay']);
    // The SFU receives Relay's media from coturn's relay ports, on both transports.
    await relay.page.getByRole('button', { name: 'Stats' }).click();
    const paths = relay.page.locator('.stats tr[data-remote-port]');
    await expect.poll(() => paths.count(), { timeout: 15_000 }).toBe(2);
    const ports = await paths.evaluateAll((rows) =>
      rows.map((row) => Number(row.getAttribute('data-remote-port'))),
    );
    console.info(`relayed participant's media arrives from ports ${ports.join(', ')}`);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(E2E_PORTS.turnRelayMin);
      expect(port).toBeLessThanOrEqual(E2E_PORTS.turnRelayMax);
    }
    await framesAdvance(relay, 'Ada', 5, 10_000);
    await relay.page.getByRole('button', { name: 'Leave' }).click();
  });

  it('finds the room in the logs of both signaling and media through /logs/api/search', async () => {
    const operator = await operatorClient(stack.url);
    const response = await operator.request('GET', `/logs/api/search?q=${room}&limit=2000`);
    expect(response.status).toBe(200);
    const { entries } = (await response.json()) as {
      entries: { service: string; data: Record<string, unknown> }[];
    };
    const services = new Set(entries.map((e) => e.service));
    expect(services.has('signaling')).toBe(true);
    expect(services.has('media')).toBe(true);
    // A browser correlation id shows up in both services.
    const mediaIds = new Set(entries.filter((e) => e.service === 'media').map((e) => e.data.correlationId));
    const shared = entries.filter(
      (e) => e.service === 'signaling' && e.data.correlationId && mediaIds.has(e.data.correlationId),
    );
    expect(shared.length).toBeGreaterThan(0);
  });

  it('lets an operator live-tail and filter the logs in the browser, with filters in the URL', async () => {
    await operatorClient(stack.url); // the account exists
    const operatorContext = await signedInContext(browser, stack.url, E2E_OPERATOR);
    const page = await operatorContext.newPage();
    await page.goto(`${stack.url}/logs/?service=media&q=${room}`);
    await expect.poll(() => page.locator('tbody tr').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const services = await page.locator('tbody td.svc').allTextContents();
    expect(new Set(services)).toEqual(new Set(['media']));
    expect(await page.getByLabel('Service').inputValue()).toBe('media');
    // Changing a filter updates the URL (shareable) and the rows.
    await page.getByLabel('Minimum level').selectOption('warn');
    await expect.poll(() => new URL(page.url()).searchParams.get('level'), { timeout: 10_000 }).toBe('warn');
    // Live tail: a new entry for this room appears without reloading.
    await page.getByLabel('Minimum level').selectOption('');
    await page.getByLabel('Service').selectOption('signaling');
    await expect
      .poll(() => new URL(page.url()).searchParams.get('service'), { timeout: 10_000 })
      .toBe('signaling');
    // The URL changes at once, the rows when the search answers: count only the new filter's rows.
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^live/);
    expect(new Set(await page.locator('tbody td.svc').allTextContents())).toEqual(new Set(['signaling']));
    const before = await page.locator('tbody tr').count();
    await participants[2].page.getByRole('button', { name: 'Mute microphone' }).click();
    await expect.poll(() => page.locator('tbody tr').count(), { timeout: 10_000 }).toBeGreaterThan(before);
    await participants[2].page.getByRole('button', { name: 'Unmute microphone' }).click();
    await operatorContext.close();
  });

  it('reports every service passing in Consul and through GET /api/health', async () => {
    for (const name of ['media', 'signaling', 'gateway', 'ui', 'log-viewer', 'events']) {
      const instances = await stack.consul.instances(name, { passingOnly: true });
      expect(instances.length, `${name} passing`).toBeGreaterThan(0);
    }
    const health = await fetch(`${stack.url}/api/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
  });

  it('lets Prometheus scrape every service it found through Consul', async () => {
    const deadline = Date.now() + 20_000;
    let jobs: Record<string, string> = {};
    while (Date.now() < deadline) {
      const response = await fetch(`http://127.0.0.1:${E2E_PORTS.prometheus}/api/v1/targets`);
      const body = (await response.json()) as {
        data: { activeTargets: { labels: { job: string }; health: string }[] };
      };
      jobs = Object.fromEntries(body.data.activeTargets.map((t) => [t.labels.job, t.health]));
      if (['media', 'signaling', 'gateway', 'ui', 'log-viewer', 'events'].every((j) => jobs[j] === 'up')) {
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(jobs).toMatchObject({
      media: 'up',
      signaling: 'up',
      gateway: 'up',
      ui: 'up',
      'log-viewer': 'up',
      events: 'up',
    });
    // Alerts go to the native Alertmanager, with the SLO rules of docs/slo.md loaded.
    const prometheus = async <T>(path: string): Promise<T> =>
      ((await (await fetch(`http://127.0.0.1:${E2E_PORTS.prometheus}${path}`)).json()) as { data: T }).data;
    const managers = await prometheus<{ activeAlertmanagers: { url: string }[] }>('/api/v1/alertmanagers');
    expect(managers.activeAlertmanagers.map((m) => m.url).join()).toContain(`:${E2E_PORTS.alertmanager}/`);
    const rules = await prometheus<{ groups: { name: string }[] }>('/api/v1/rules');
    expect(rules.groups.map((g) => g.name)).toEqual(
      expect.arrayContaining(['switchboard-slo', 'switchboard-slo-alerts']),
    );
    // The browsers of this call told signaling their time to first frame (the SLI's input), and
    // Prometheus has it.
    let reported = 0;
    while (Date.now() < deadline + 15_000 && reported < participants.length) {
      const result = await prometheus<{ result: { value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent('sum(switchboard_time_to_first_frame_seconds_count)')}`,
      );
      reported = Number(result.result[0]?.value[1] ?? 0);
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(reported).toBeGreaterThanOrEqual(participants.length);
  }, 60_000);

  it('restarts ICE, not the call, when the path to the media node drops for a few seconds', async () => {
    const [ada] = participants;
    const marks = () =>
      ada.page.evaluate(() => performance.getEntriesByType('mark').map((mark) => mark.name));
    const rejoinsBefore = (await marks()).filter((name) => name === 'sb:reconnected').length;
    // Packets to the media node's RTC ports (every browser's ICE, UDP and TCP) are dropped.
    const cut = (action: '-A' | '-D') => {
      for (const protocol of ['udp', 'tcp']) {
        execFileSync('iptables', [
          action,
          'INPUT',
          '-p',
          protocol,
          '--dport',
          `${E2E_PORTS.rtcMin}:${E2E_PORTS.rtcMax}`,
          '-j',
          'DROP',
        ]);
      }
    };
    const cutAt = (await marks()).length;
    cut('-A');
    try {
      await ada.page.waitForFunction(
        () => performance.getEntriesByType('mark').some((mark) => mark.name.startsWith('sb:ice restarted')),
        undefined,
        { timeout: 30_000, polling: 100 },
      );
    } catch (error) {
      // What the page went through meanwhile (transport states, restart failures, rejoins).
      throw new Error(`no ICE restart; marks since the cut: ${(await marks()).slice(cutAt).join(', ')}`, {
        cause: error,
      });
    } finally {
      cut('-D');
    }
    // Media flows again on the same transports: frames advance, and nobody rejoined.
    const before = await frameCounts(ada, ['Grace', 'Linus']);
    for (const name of ['Grace', 'Linus']) {
      await expect
        .poll(async () => (await frameCounts(ada, [name]))[name], { timeout: 20_000 })
        .toBeGreaterThan(before[name] + 10);
    }
    expect((await marks()).filter((name) => name === 'sb:reconnected')).toHaveLength(rejoinsBefore);
    expect(await ada.page.getByText(/Reconnecting/).count()).toBe(0);
  }, 60_000);

  it('reconnects everyone on its own when signaling restarts mid-call', async () => {
    const pid = stack.pid('signaling');
    process.kill(pid!, 'SIGTERM'); // the launcher's restart policy brings it back
    await participants[0].page.getByText(/Reconnecting/).waitFor({ timeout: 10_000 });
    for (const participant of participants) {
      await waitForRemoteVideos(
        participant,
        NAMES.filter((n) => n !== participant.name),
        45_000,
      );
      await participant.page.getByText(/Reconnecting/).waitFor({ state: 'detached', timeout: 10_000 });
    }
    expect(stack.pid('signaling')).not.toBe(pid);
    for (const participant of participants) {
      expect(await participant.page.locator('.tile').count(), participant.name).toBe(3);
    }
  }, 90_000);

  it('meets over HTTPS too (NGINX with the self-signed certificate, signaling over wss)', async () => {
    const sockets: string[] = [];
    // A fourth sender at one low layer: this checks the secure path.
    const hopper = await openRoom(browser, stack.httpsUrl, room, 'Hopper', 'camera=low', {
      ignoreHTTPSErrors: true,
      onPage: (page) => page.on('websocket', (socket) => sockets.push(socket.url())),
    });
    guests.add(hopper);
    await clickJoin(hopper);
    await hopper.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    await waitForRemoteVideos(hopper, ['Ada']);
    expect(await hopper.page.evaluate(() => location.protocol)).toBe('https:');
    const secure = sockets.filter((url) => url.startsWith(`wss://localhost:${stack.ports.https}/socket.io/`));
    expect(secure, sockets.join(' ')).not.toEqual([]);
    await hopper.page.getByRole('button', { name: 'Leave' }).click();
    await participants[0].page
      .locator('video[aria-label="Hopper"]')
      .waitFor({ state: 'detached', timeout: 10_000 });
  }, 60_000);

  it('runs every page under the Content-Security-Policy (no inline script refused)', () => {
    expect(cspViolations).toEqual([]);
  });

  it('tells the others when someone leaves', async () => {
    const [ada, grace] = participants;
    await grace.page.getByRole('button', { name: 'Leave' }).click();
    await ada.page.locator('video[aria-label="Grace"]').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await ada.page.locator('.tile').count()).toBe(2);
  });

  it('records the call: once everyone left, an operator finds it with its three people, and its page shows them', async () => {
    for (const p of participants) {
      const leave = p.page.getByRole('button', { name: 'Leave' });
      if (await leave.isVisible().catch(() => false)) {
        await leave.click();
      }
    }
    const operator = await operatorClient(stack.url);
    type Detail = {
      call: {
        endedAt?: string;
        peakParticipants: number;
        participantList: { displayName: string; leftAt?: string }[];
      };
    };
    let callId = '';
    await expect
      .poll(
        async () => {
          const list = (await (await operator.request('GET', `/api/calls?room=${room}`)).json()) as {
            calls: { id: string; endedAt?: string }[];
          };
          const ended = list.calls.find((c) => c.endedAt);
          callId = ended?.id ?? '';
          return list.calls.length > 0 && list.calls.every((c) => c.endedAt);
        },
        { timeout: 30_000, message: 'the call recorded as ended by the events service' },
      )
      .toBe(true);
    const { call } = (await (await operator.request('GET', `/api/calls/${callId}`)).json()) as Detail;
    // The three (and whoever the relay and HTTPS checks brought in under other names).
    expect(call.participantList.map((p) => p.displayName)).toEqual(expect.arrayContaining(NAMES));
    expect(call.participantList.every((p) => p.leftAt)).toBe(true);
    expect(call.peakParticipants).toBeGreaterThanOrEqual(3);
    // The meeting's host sees it too; another account does not (not even that it exists).
    expect((await roomHost.request('GET', `/api/calls/${callId}`)).status).toBe(200);
    const stranger = new ApiClient(stack.url, { address: randomAddress() });
    await stranger.request('POST', '/api/auth/register', newAccount('Stranger'));
    expect((await stranger.request('GET', `/api/calls/${callId}`)).status).toBe(404);
    expect((await stranger.request('GET', `/api/calls?room=${room}`)).status).toBe(403);

    const context = await signedInContext(browser, stack.url, E2E_OPERATOR);
    const page = await context.newPage();
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.goto(`${stack.url}/calls`);
    await page.getByRole('link', { name: 'E2E call' }).first().waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ROOT, 'docs/screens/calls-list.png') });
    await page.goto(`${stack.url}/calls/${callId}`);
    for (const name of NAMES) {
      await page.getByRole('cell', { name, exact: true }).first().waitFor({ timeout: 10_000 });
    }
    await page.screenshot({ path: join(ROOT, 'docs/screens/call-record.png'), fullPage: true });
    await context.close();
  });
});
