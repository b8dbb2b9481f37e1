/**
 * The Compose smoke run's checks (run by `npm run compose:smoke`, which builds the images, starts
 * docker-compose.yml and tears it down): every service passing in the stack's Consul, the public
 * health answer, and a three-party call in Chromium through the stack's NGINX.
 */
import { execFileSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clickJoin,
  createRoom,
  launchChromium,
  openRoom,
  waitForRemoteVideos,
  type Participant,
} from '../e2e/browser';

const URL_BASE = process.env.COMPOSE_URL ?? 'http://127.0.0.1:8080';
/** `docker` or `podman`, and the project name Compose gave the containers. */
const ENGINE = process.env.COMPOSE_ENGINE ?? 'docker';
const PROJECT = process.env.COMPOSE_PROJECT ?? 'switchboard';

/** Runs a script with Node inside one of the stack's containers (Consul is not published). */
function inContainer(service: string, script: string): string {
  const id = execFileSync(
    ENGINE,
    [
      'ps',
      '-q',
      '--filter',
      `label=com.docker.compose.project=${PROJECT}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    ],
    { encoding: 'utf8' },
  )
    .trim()
    .split('\n')[0];
  if (!id) {
    throw new Error(`no running ${service} container in project ${PROJECT}`);
  }
  return execFileSync(ENGINE, ['exec', id, 'node', '-e', script], { encoding: 'utf8' });
}

describe('the Compose stack', () => {
  let browser: Browser;
  const participants: Participant[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('reports every service passing in its Consul', () => {
    // Read from inside the gateway's container with the gateway's own Consul token.
    const out = inContainer(
      'gateway',
      `fetch('http://' + process.env.CONSUL_HTTP_ADDR + '/v1/health/state/any', {
         headers: process.env.CONSUL_HTTP_TOKEN ? { 'x-consul-token': process.env.CONSUL_HTTP_TOKEN } : {},
       }).then((r) => r.json()).then((checks) => console.log(JSON.stringify(checks)))`,
    );
    const checks = JSON.parse(out) as { ServiceName: string; Status: string; Output: string }[];
    for (const name of ['media', 'signaling', 'gateway', 'ui', 'log-viewer']) {
      const own = checks.filter((c) => c.ServiceName === name);
      expect(own.length, `${name} registered`).toBeGreaterThan(0);
      for (const check of own) {
        expect(check.Status, `${name}: ${check.Output}`).toBe('passing');
      }
    }
  });

  it('answers healthy through NGINX', async () => {
    const response = await fetch(`${URL_BASE}/api/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('carries a three-party call: everyone sees the other two videos', async () => {
    // From 127.0.0.1 itself: the engine forwards published ports for that loopback address only
    // (the e2e suite's clients each take their own 127.x.y.z).
    const { id: room } = await createRoom(URL_BASE, { name: 'Compose smoke', address: '127.0.0.1' });
    for (const name of ['Ada', 'Grace', 'Linus']) {
      const participant = await openRoom(browser, URL_BASE, room, name);
      participants.push(participant);
      await clickJoin(participant);
      await participant.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 30_000 });
    }
    for (const participant of participants) {
      const others = participants.map((p) => p.name).filter((n) => n !== participant.name);
      await waitForRemoteVideos(participant, others);
    }
    const third = participants[2];
    const playingAt = await waitForRemoteVideos(third, ['Ada', 'Grace']);
    console.info(
      `third joiner: Join click → both remote videos playing in ${playingAt - (third.clickedAt ?? 0)} ms`,
    );
  });
});
