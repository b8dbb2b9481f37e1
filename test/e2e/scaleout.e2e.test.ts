/**
 * Scale-out end to end: two media nodes (found through Consul) and two signaling instances
 * (joined through Redis) behind NGINX. Three Chromium participants land on different signaling
 * instances, yet see each other, and the room lives on exactly one media node.
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
import { SCALE_PORTS } from './ports';

const NAMES = ['Ada', 'Grace', 'Linus'];

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = new RegExp(`^${name}\\{[^}]*\\} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

describe('scale-out: 2 signaling instances and 2 media nodes behind NGINX', () => {
  let stack: Stack;
  let browser: Browser;
  const participants: Participant[] = [];
  let room: string;

  beforeAll(async () => {
    stack = await Stack.start({
      ...E2E_BACKENDS,
      ports: SCALE_PORTS,
      runDir: join(ROOT, '.run/e2e-scale'),
      mediaNodes: 2,
      signalingInstances: 2,
      mediaWorkers: 1,
      prometheus: false,
      log: () => {},
    });
    browser = await launchChromium();
    room = (await createRoom(stack.url)).id;
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  it('registers both media nodes and both signaling instances in Consul', async () => {
    expect(await stack.consul.instances('media', { passingOnly: true })).toHaveLength(2);
    expect(await stack.consul.instances('signaling', { passingOnly: true })).toHaveLength(2);
  });

  it('connects participants on different signaling instances who still see each other', async () => {
    for (const name of NAMES) {
      const participant = await openRoom(browser, stack.url, room, name);
      participants.push(participant);
      await clickJoin(participant);
      await participant.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    }
    for (const participant of participants) {
      await waitForRemoteVideos(
        participant,
        NAMES.filter((n) => n !== participant.name),
      );
    }
    const before = await frameCounts(participants[2], ['Ada', 'Grace']);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await frameCounts(participants[2], ['Ada', 'Grace']);
    expect(after.Ada).toBeGreaterThan(before.Ada + 5);
    expect(after.Grace).toBeGreaterThan(before.Grace + 5);

    const sockets = await Promise.all(
      [0, 1].map((i) => metric(SCALE_PORTS.signaling + i, 'switchboard_signaling_sockets')),
    );
    expect(sockets.reduce((a, b) => a + b, 0)).toBe(3);
    expect(Math.min(...sockets), `sockets per instance: ${sockets}`).toBeGreaterThan(0);
  }, 120_000);

  it('keeps the whole room on one media node', async () => {
    const transports = await Promise.all(
      [0, 1].map((i) => metric(SCALE_PORTS.mediaMetrics + i, 'switchboard_media_transports')),
    );
    expect(transports.sort((a, b) => a - b)).toEqual([0, 6]); // 3 peers × (send + receive)
  });

  it('brings everyone back in video on the other media node within 5 s after theirs is SIGKILLed', async () => {
    const transports = await Promise.all(
      [0, 1].map((i) => metric(SCALE_PORTS.mediaMetrics + i, 'switchboard_media_transports')),
    );
    const hosting = transports[0] > 0 ? 0 : 1;
    const name = hosting === 0 ? 'media' : 'media-2';
    // Mark the videos playing now: recovery means new ones (new consumers) playing.
    for (const p of participants) {
      await p.page.evaluate(() =>
        document.querySelectorAll('video').forEach((v) => v.setAttribute('data-before', '')),
      );
    }
    const killedAt = Date.now();
    process.kill(stack.pid(name)!, 'SIGKILL');
    const backAt = await Promise.all(
      participants.map(async (p) => {
        const others = NAMES.filter((n) => n !== p.name);
        await p.page.waitForFunction(
          (expected: string[]) =>
            expected.every((n) => {
              const video = document.querySelector<HTMLVideoElement>(
                `video[aria-label="${CSS.escape(n)}"]:not([data-before])`,
              );
              return !!video && video.readyState >= 2 && video.getVideoPlaybackQuality().totalVideoFrames > 0;
            }),
          others,
          { timeout: 20_000, polling: 50 },
        );
        return Date.now();
      }),
    );
    const recovery = Math.max(...backAt) - killedAt;
    console.info(`media node ${name} SIGKILLed: everyone back in video in ${recovery} ms`);
    expect(recovery).toBeLessThanOrEqual(5000);
    // The room now lives on the other node only.
    const after = await metric(SCALE_PORTS.mediaMetrics + (1 - hosting), 'switchboard_media_transports');
    expect(after).toBe(6);
  });
});
