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
});
