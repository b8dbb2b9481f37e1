/**
 * The operator console end to end: two media nodes behind NGINX, two Chromium participants in a
 * meeting, and an operator's Chromium at /console. The console is closed to everyone else (NGINX
 * sends the signed-out to sign in; the server API refuses a non-operator's session and a session
 * without the console's header). The operator sees both nodes with their load and the live room
 * with its two people on its node; drains that node from the console, and the room moves: both
 * participants play each other's video again, from the other node, which the console then shows.
 * Then the operator creates an API key, someone invited with a join token from the API joins from
 * the UI (`/r/<id>#token=`), and the operator ends the meeting from the console.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@switchboard/testing';
import { ROOT, Stack } from '../../scripts/Stack';
import {
  clickJoin,
  createRoom,
  E2E_BACKENDS,
  E2E_ENV,
  E2E_OPERATOR,
  launchChromium,
  openRoom,
  operatorClient,
  signedInContext,
  waitForRemoteVideos,
  type Participant,
} from './browser';
import { CONSOLE_PORTS } from './ports';

const CAMERA = 'camera=low';
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ROOT, `docs/screens/${name}.png`), fullPage: true });

describe('the operator console', () => {
  let stack: Stack;
  let browser: Browser;
  let room: string;
  let host: ApiClient;
  let console_: Page;
  const participants: Participant[] = [];

  beforeAll(async () => {
    stack = await Stack.start({
      ...E2E_BACKENDS,
      ports: CONSOLE_PORTS,
      runDir: join(ROOT, '.run/e2e-console'),
      mediaNodes: 2,
      mediaWorkers: 1,
      env: E2E_ENV,
      prometheus: false,
      log: () => {},
    });
    browser = await launchChromium();
    await operatorClient(stack.url);
    ({ id: room, host } = await createRoom(stack.url, { name: 'Console check' }));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  it('publishes the server API’s OpenAPI document at /api/openapi.json (both services)', async () => {
    const response = await fetch(`${stack.url}/api/openapi.json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as { paths: Record<string, unknown>; tags: { name: string }[] };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/rooms', '/api/v1/nodes']));
    expect(doc.tags.map((t) => t.name)).toEqual(['RoomService', 'NodeService']);
  });

  it('is closed to everyone but operators', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.url}/console`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/console');
    await context.close();
    // A signed-in host who is not an operator: NGINX answers 403, and so does the server API.
    const page403 = await host.request('GET', '/console');
    expect(page403.status).toBe(403);
    const CSRF = { headers: { 'x-switchboard-request': '1' } };
    const nodes = await host.request('GET', '/api/v1/nodes', undefined, CSRF);
    expect(nodes.status).toBe(403);
    expect(((await nodes.json()) as { message: string }).message).toMatch(/operators only/);
    // An operator's cookie without the console's header (a cross-site request) is no credential.
    const operator = await operatorClient(stack.url);
    expect((await operator.request('GET', '/api/v1/nodes')).status).toBe(401);
    expect((await operator.request('GET', '/api/v1/nodes', undefined, CSRF)).status).toBe(200);
  });

  it('shows the nodes with their load and the live room with its people', async () => {
    for (const name of ['Ada', 'Grace']) {
      const participant = await openRoom(browser, stack.url, room, name, CAMERA);
      participants.push(participant);
      await clickJoin(participant);
    }
    await waitForRemoteVideos(participants[0], ['Grace']);
    await waitForRemoteVideos(participants[1], ['Ada']);

    const context = await signedInContext(browser, stack.url, E2E_OPERATOR);
    console_ = await context.newPage();
    await console_.setViewportSize({ width: 1280, height: 900 });
    await console_.goto(`${stack.url}/console`);
    await console_.getByRole('heading', { name: 'Media nodes (2)' }).waitFor({ timeout: 15_000 });
    const card = console_.getByRole('article', { name: 'Room Console check' });
    await card.getByText('2 in call').waitFor({ timeout: 10_000 });
    await card.getByRole('cell', { name: 'Ada', exact: true }).waitFor();
    await card.getByRole('cell', { name: 'Grace', exact: true }).waitFor();
    // Each node's load as it answers GetLoad: the room's node carries 2 consumers per person.
    await console_.getByText('4 / ').first().waitFor({ timeout: 10_000 });
    await shot(console_, 'console');
  });

  it('drains the room’s node from the console: the room moves to the other node and the call goes on', async () => {
    const card = console_.getByRole('article', { name: 'Room Console check' });
    const where = (await card.getByText(/^on media/).textContent())!.replace(/^on /, '');
    const nodes = (await stack.consul.instances('media', { passingOnly: true })).map((i) => i.id);
    expect(nodes).toContain(where);
    const other = nodes.find((id) => id !== where)!;
    for (const p of participants) {
      await p.page.evaluate(() =>
        document.querySelectorAll('video').forEach((v) => v.setAttribute('data-before', '')),
      );
    }

    await console_.getByRole('button', { name: `Drain ${where}` }).click();
    const dialog = console_.getByRole('dialog', { name: `Drain ${where}?` });
    await dialog.getByLabel('Calls move after (seconds)').fill('2');
    await shot(console_, 'console-drain');
    await dialog.getByRole('button', { name: 'Drain' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await console_
      .getByRole('article', { name: `Media node ${where}` })
      .getByText('Draining')
      .waitFor({ timeout: 5000 });

    // At the deadline the room ends there; both rejoin by themselves on the other node and see
    // each other's video again (new video elements, playing).
    for (const p of participants) {
      const others = participants.filter((o) => o !== p).map((o) => o.name);
      await p.page.waitForFunction(
        (expected: string[]) =>
          expected.every((n) => {
            const video = document.querySelector<HTMLVideoElement>(
              `video[aria-label="${CSS.escape(n)}"]:not([data-before])`,
            );
            return !!video && video.readyState >= 2 && video.getVideoPlaybackQuality().totalVideoFrames > 0;
          }),
        others,
        { timeout: 30_000, polling: 100 },
      );
    }
    await card.getByText(`on ${other}`).waitFor({ timeout: 15_000 });
    await card.getByText('2 in call').waitFor({ timeout: 10_000 });
    // Once empty, the drained node leaves Consul, and the console's list.
    await console_.getByRole('heading', { name: 'Media nodes (1)' }).waitFor({ timeout: 20_000 });
    await shot(console_, 'console-drained');
  }, 120_000);

  it('creates an API key (its secret shown once) and ends the meeting for everyone', async () => {
    await console_.getByRole('tab', { name: 'API keys' }).click();
    // The e2e database outlives a run: a name of this run's own.
    const name = `Billing backend ${Date.now().toString(36)}`;
    await console_.getByLabel('Name').fill(name);
    await console_.getByRole('button', { name: 'Create key' }).click();
    const secret = await console_.locator('code.secret').textContent();
    expect(secret).toMatch(/^sbk_[A-Za-z0-9]{16}:[A-Za-z0-9_-]{43}$/);
    await console_.getByRole('cell', { name: new RegExp(`^${name} sbk_`) }).waitFor();
    await shot(console_, 'console-keys');
    // The key works on the server API at once.
    const api = new ApiClient(stack.url);
    const listed = await api.request('GET', '/api/v1/rooms', undefined, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(listed.status).toBe(200);

    // An integrator invites someone with a join token from the API: the link's fragment carries
    // it (never sent to a server), the name is the token's, and they join the call from the UI.
    const minted = await api.request(
      'POST',
      `/api/v1/rooms/${room}/tokens`,
      { identity: 'crm-user-7', displayName: 'Invited Linus' },
      { headers: { authorization: `Bearer ${secret}` } },
    );
    expect(minted.status).toBe(403); // this key may only read rooms
    const writer = await operatorClient(stack.url);
    const created = await writer.json<{ key: string }>('POST', '/api/admin/api-keys', {
      name: `Invitations ${Date.now().toString(36)}`,
      scopes: ['tokens:create'],
    });
    const { token } = (await (
      await api.request(
        'POST',
        `/api/v1/rooms/${room}/tokens`,
        { identity: 'crm-user-7', displayName: 'Invited Linus' },
        { headers: { authorization: `Bearer ${created.body.key}` } },
      )
    ).json()) as { token: string };
    const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
    const invited = await context.newPage();
    await invited.goto(`${stack.url}/r/${room}#token=${token}`);
    const nameField = invited.getByLabel('Your name');
    await nameField.waitFor();
    expect(await nameField.inputValue()).toBe('Invited Linus');
    expect(await nameField.getAttribute('readonly')).not.toBeNull();
    expect(new URL(invited.url()).hash).toBe('');
    await invited.getByRole('button', { name: 'Join' }).click();
    await waitForRemoteVideos({ name: 'Invited Linus', context, page: invited }, ['Ada', 'Grace']);
    await console_.getByRole('tab', { name: 'Live' }).click();
    await console_
      .getByRole('article', { name: 'Room Console check' })
      .getByRole('cell', { name: 'Invited Linus', exact: true })
      .waitFor({ timeout: 10_000 });
    participants.push({ name: 'Invited Linus', context, page: invited });

    // A viewer's invitation (canPublish false, as for a webinar's audience): the page joins
    // without sending, sees and hears the others, says why its controls are off, and the others
    // see the viewer listed without media.
    const { token: viewerToken } = (await (
      await api.request(
        'POST',
        `/api/v1/rooms/${room}/tokens`,
        { identity: 'crm-viewer-3', displayName: 'Viewer Vera', canPublish: false },
        { headers: { authorization: `Bearer ${created.body.key}` } },
      )
    ).json()) as { token: string };
    const viewerContext = await browser.newContext({ permissions: ['camera', 'microphone'] });
    const viewer = await viewerContext.newPage();
    await viewer.goto(`${stack.url}/r/${room}#token=${viewerToken}`);
    await viewer.getByRole('button', { name: 'Join' }).click();
    const vera = { name: 'Viewer Vera', context: viewerContext, page: viewer };
    await waitForRemoteVideos(vera, ['Ada', 'Grace', 'Invited Linus']);
    await viewer.getByText('You are watching and listening: your invitation does not let you send').waitFor();
    for (const label of ['Mute microphone', 'Turn camera off']) {
      const button = viewer.getByRole('button', { name: label });
      expect(await button.isDisabled()).toBe(true);
      expect(await button.getAttribute('title')).toMatch(/watch and listen, not send/);
    }
    await shot(viewer, 'call-viewer');
    // Nothing was sent: no producer of Vera's in the room, her tile at Ada's has no video.
    const adaPage = participants[0].page;
    const veraTile = adaPage.locator('.tile').filter({ hasText: 'Viewer Vera' });
    await veraTile.waitFor({ timeout: 10_000 });
    expect(await viewer.evaluate(() => performance.getEntriesByName('sb:→ produce').length)).toBe(0);
    participants.push(vera);

    await console_.getByRole('button', { name: 'End Console check' }).click();
    await console_.getByRole('dialog').getByRole('button', { name: 'End meeting' }).click();
    for (const p of participants) {
      await p.page.getByText('The meeting was ended').waitFor({ timeout: 10_000 });
    }
    await console_.getByText('No call is in progress').waitFor({ timeout: 10_000 });
  });
});
