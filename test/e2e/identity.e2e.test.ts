/**
 * End to end, as people use it: a host signs up in Chromium, creates a meeting with a lobby and
 * joins it; a guest with the link waits in the lobby until the host admits them; the host mutes
 * them (they see it) and removes them (they are told and cannot rejoin with their token); the host
 * locks the meeting and a third browser with the link is refused with a clear message. Each screen
 * is saved to docs/screens/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '@switchboard/db';
import { newAccount } from '@switchboard/testing';
import { ROOT, Stack } from '../../scripts/Stack';
import { E2E_BACKENDS, E2E_ENV, launchChromium, remoteAudioPeak, waitForRemoteVideos } from './browser';
import { E2E_PORTS } from './ports';

const SCREENS = join(ROOT, 'docs/screens');

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENS, `${name}.png`) });
}

const freshDatabase = new URL(E2E_BACKENDS.databaseUrl);
freshDatabase.pathname = `/sb_e2e_identity_${Date.now().toString(36)}`;

describe('identity and access in the browser: sign-up, lobby, host controls, locked meeting', () => {
  let stack: Stack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let host: Page;
  let guest: Page;
  let roomUrl = '';
  let guestToken = '';
  const account = newAccount('Hedy');

  const newPage = async () => {
    const context = await browser.newContext({
      permissions: ['camera', 'microphone'],
      viewport: { width: 1280, height: 720 },
    });
    contexts.push(context);
    return context.newPage();
  };

  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    stack = await Stack.start({
      ...E2E_BACKENDS,
      // A new deployment: its own database, where no account is an operator yet.
      databaseUrl: freshDatabase.toString(),
      ports: E2E_PORTS,
      runDir: join(ROOT, '.run/e2e-identity'),
      log: () => {},
      prometheus: false,
      env: E2E_ENV,
    });
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    for (const context of contexts) {
      await context.close().catch(() => {});
    }
    await browser?.close();
    await stack?.stop();
    const admin = createPool(E2E_BACKENDS.databaseUrl);
    await admin.query(`DROP DATABASE IF EXISTS "${freshDatabase.pathname.slice(1)}" WITH (FORCE)`);
    await admin.end();
  }, 60_000);

  it('makes no one operator by signing up first: the setup link npm start prints does, once', async () => {
    const code = readFileSync(stack.setupCodeFile, 'utf8').trim();
    expect(code).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const page = await newPage();
    await page.goto(`${stack.url}/setup?code=${code}`);
    await page.getByText('Sign in first').waitFor();
    await page.getByRole('link', { name: 'Create an account' }).click();
    const ops = newAccount('Grace Ops');
    await page.getByLabel('Your name').fill(ops.displayName);
    await page.getByLabel('Email').fill(ops.email);
    await page.getByLabel('Password').fill(ops.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    // Back on the setup page, signed in but not (yet) an operator: the logs are closed to her.
    await page.getByRole('button', { name: 'Become operator' }).waitFor({ timeout: 10_000 });
    expect((await page.request.get(`${stack.url}/logs/`)).status()).toBe(403);
    await screenshot(page, 'operator-setup');
    await page.getByRole('button', { name: 'Become operator' }).click();
    await page.getByText('you are an operator of this deployment').waitFor({ timeout: 10_000 });
    await screenshot(page, 'operator-setup-done');
    expect((await page.request.get(`${stack.url}/logs/`)).status()).toBe(200);
    // The code worked once: another account presenting it is refused, with the reason shown.
    const other = await newPage();
    const someone = newAccount('Someone');
    const csrf = { 'x-switchboard-request': '1' };
    await other.request.post(`${stack.url}/api/auth/register`, { data: someone, headers: csrf });
    await other.goto(`${stack.url}/setup?code=${code}`);
    await other.getByRole('button', { name: 'Become operator' }).click();
    await other.getByText('this setup code is not valid').waitFor({ timeout: 10_000 });
  }, 60_000);

  it('lets a visitor sign up, create a meeting with a lobby and join it as its host', async () => {
    host = await newPage();
    await host.goto(stack.url);
    await host.getByRole('link', { name: 'Create account' }).waitFor();
    await screenshot(host, 'home-signed-out');
    await host.getByRole('link', { name: 'Create account' }).click();
    await host.getByLabel('Your name').fill(account.displayName);
    await host.getByLabel('Email').fill(account.email);
    await host.getByLabel('Password').fill(account.password);
    await screenshot(host, 'sign-up');
    await host.getByRole('button', { name: 'Create account' }).click();
    await host.getByRole('heading', { name: `Hello, ${account.displayName}` }).waitFor();
    await host.getByText('No meetings yet').waitFor();

    await host.getByLabel('Meeting name').fill('Design review');
    await host.getByLabel('Who can join').selectOption('lobby');
    await host.getByRole('button', { name: 'Create meeting' }).click();
    await host.waitForURL(/\/r\/[a-z2-7]{24}$/);
    roomUrl = host.url();
    await host.getByRole('heading', { name: 'Design review' }).waitFor();
    // Signed in: the pre-join screen knows the name.
    expect(await host.getByLabel('Your name').inputValue()).toBe(account.displayName);
    await host.getByRole('button', { name: 'Join' }).click();
    await host.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    await host.getByText('Lobby: guests wait for a host').waitFor();

    // "My meetings" lists it, with a copyable link.
    const home = await host.context().newPage();
    await home.goto(stack.url);
    await home.getByRole('link', { name: 'Design review' }).waitFor();
    expect(await home.getByRole('link', { name: 'Design review' }).getAttribute('href')).toBe(
      new URL(roomUrl).pathname,
    );
    await screenshot(home, 'my-meetings');
    await home.close();
  }, 90_000);

  it('keeps a guest in the lobby until the host admits them', async () => {
    guest = await newPage();
    guest.on('response', (response) => {
      if (/\/api\/rooms\/[^/]+\/tokens$/.test(response.url()) && response.status() === 201) {
        void response.json().then((body: { token: string }) => (guestToken = body.token));
      }
    });
    await guest.goto(`${roomUrl}?name=${encodeURIComponent('Guest Gal')}`);
    await guest.getByRole('button', { name: 'Join' }).waitFor();
    await guest.waitForFunction(() =>
      [...document.querySelectorAll('button')].some((b) => b.textContent === 'Join' && !b.disabled),
    );
    await guest.getByRole('button', { name: 'Join' }).click();
    await guest.getByText('Waiting for a host to let you in…').waitFor({ timeout: 20_000 });
    await guest.waitForFunction(() => {
      const video = document.querySelector<HTMLVideoElement>('video[aria-label="Your camera preview"]');
      return !!video && video.readyState >= 2;
    });
    await screenshot(guest, 'lobby-waiting');
    // Not in yet: the host sees a request, not a tile.
    await host.getByRole('button', { name: 'Admit Guest Gal' }).waitFor({ timeout: 10_000 });
    expect(await host.locator('video[aria-label="Guest Gal"]').count()).toBe(0);
    await screenshot(host, 'lobby-admit-prompt');

    await host.getByRole('button', { name: 'Admit Guest Gal' }).click();
    await guest.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    await waitForRemoteVideos({ name: 'Guest Gal', context: guest.context(), page: guest }, [
      account.displayName,
    ]);
    await waitForRemoteVideos({ name: account.displayName, context: host.context(), page: host }, [
      'Guest Gal',
    ]);
    expect(await host.getByRole('button', { name: 'Admit Guest Gal' }).count()).toBe(0);
  }, 60_000);

  it('lets the host mute the guest, who sees it and is silent for everyone', async () => {
    await host.getByRole('button', { name: 'People' }).click();
    await host.getByRole('complementary', { name: 'Participants' }).getByText('Guest Gal · guest').waitFor();
    await screenshot(host, 'call-host-controls');
    await host.locator('.tile').getByRole('button', { name: 'Mute Guest Gal' }).click();
    await guest.getByText('A host muted your microphone.').waitFor({ timeout: 10_000 });
    await guest.getByRole('button', { name: 'Unmute microphone' }).waitFor();
    await screenshot(guest, 'muted-by-host');
    const tile = host.locator('.tile', { has: host.locator('video[aria-label="Guest Gal"]') });
    await expect
      .poll(() => tile.locator('.name').textContent(), { timeout: 10_000 })
      .toBe('Guest Gal (muted)');
    await new Promise((r) => setTimeout(r, 700));
    const hostView = { name: account.displayName, context: host.context(), page: host };
    expect(await remoteAudioPeak(hostView, 'Guest Gal', 1500)).toBeLessThan(0.001);

    // Allowed to unmute: the guest does, and is heard again.
    await guest.getByRole('button', { name: 'Unmute microphone' }).click();
    await expect.poll(() => tile.locator('.name').textContent(), { timeout: 10_000 }).toBe('Guest Gal');
    expect(await remoteAudioPeak(hostView, 'Guest Gal', 2500)).toBeGreaterThan(0.01);

    // Muted and kept muted: unmuting is refused until the host allows it.
    await host.getByRole('button', { name: 'Mute Guest Gal and keep them muted' }).click();
    await expect
      .poll(() => tile.locator('.name').textContent(), { timeout: 10_000 })
      .toBe('Guest Gal (muted)');
    await guest.getByText(/you can turn it back on when a host allows it/).waitFor({ timeout: 10_000 });
    await guest.getByRole('button', { name: 'Unmute microphone' }).click();
    await guest.getByText(/ask a host to let you turn it back on/).waitFor();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await tile.locator('.name').textContent()).toBe('Guest Gal (muted)');
    await host.getByRole('button', { name: 'Let Guest Gal unmute' }).click();
    await guest.getByText('A host allowed you to turn your microphone back on.').waitFor({ timeout: 10_000 });
    await guest.getByRole('button', { name: 'Unmute microphone' }).click();
    await expect.poll(() => tile.locator('.name').textContent(), { timeout: 10_000 }).toBe('Guest Gal');
  }, 90_000);

  it('shows raised hands to the host in order, on the tiles and in the people panel; the host lowers them', async () => {
    // Both mute first: a hand drops on its own once its owner has been speaking for 4 s.
    await guest.getByRole('button', { name: 'Mute microphone' }).click();
    await host.getByRole('button', { name: 'Mute microphone' }).click();
    await guest.getByRole('button', { name: 'Raise hand' }).click();
    await guest.getByRole('button', { name: 'Lower hand' }).waitFor({ timeout: 10_000 });
    const guestHand = host.getByRole('img', { name: 'Guest Gal raised a hand (1st in line)' });
    await guestHand.waitFor({ timeout: 10_000 });
    await host.getByRole('button', { name: 'Raise hand' }).click();
    await host.getByRole('img', { name: 'You raised a hand (2nd in line)' }).waitFor({ timeout: 10_000 });
    await guest.getByRole('img', { name: `${account.displayName} raised a hand (2nd in line)` }).waitFor({
      timeout: 10_000,
    });
    const list = host.getByRole('region', { name: 'Raised hands' });
    expect(await list.getByRole('listitem').allTextContents()).toEqual(['Guest Gal', 'You']);
    await screenshot(host, 'raised-hands');
    // The host lowers the guest's hand: the guest sees it, and the host's moves up.
    await list.getByRole('button', { name: "Lower Guest Gal's hand" }).click();
    await guest.getByRole('button', { name: 'Raise hand' }).waitFor({ timeout: 10_000 });
    await guestHand.waitFor({ state: 'detached', timeout: 10_000 });
    await host.getByRole('img', { name: 'You raised a hand (1st in line)' }).waitFor({ timeout: 10_000 });
    // A guest cannot lower the host's hand (no control), and the host lowers its own.
    expect(await guest.getByRole('button', { name: /Lower .*'s hand/ }).count()).toBe(0);
    await host.getByRole('button', { name: 'Lower hand' }).click();
    await list.waitFor({ state: 'detached', timeout: 10_000 });
    await guest.getByRole('button', { name: 'Unmute microphone' }).click();
    await host.getByRole('button', { name: 'Unmute microphone' }).click();
  }, 60_000);

  it('lets the host mute everyone, then ask the guest to unmute, which the guest does', async () => {
    const tile = host.locator('.tile', { has: host.locator('video[aria-label="Guest Gal"]') });
    await expect.poll(() => tile.locator('.name').textContent(), { timeout: 10_000 }).toBe('Guest Gal');
    await host.getByRole('button', { name: 'Mute everyone' }).click();
    await guest.getByText('A host muted your microphone.').waitFor({ timeout: 10_000 });
    await expect
      .poll(() => tile.locator('.name').textContent(), { timeout: 10_000 })
      .toBe('Guest Gal (muted)');
    // The host itself is not muted.
    expect(await host.getByRole('button', { name: 'Mute microphone' }).count()).toBe(1);
    await host
      .getByRole('complementary', { name: 'Participants' })
      .getByRole('button', { name: 'Ask Guest Gal to unmute' })
      .click();
    await guest.getByText('A host asks you to turn your microphone back on.').waitFor({ timeout: 10_000 });
    await screenshot(guest, 'asked-to-unmute');
    await guest.getByRole('button', { name: 'Unmute microphone' }).click();
    await expect.poll(() => tile.locator('.name').textContent(), { timeout: 10_000 }).toBe('Guest Gal');
  }, 60_000);

  it('with self-unmute switched off, the guest cannot turn the microphone back on until asked', async () => {
    const tile = host.locator('.tile', { has: host.locator('video[aria-label="Guest Gal"]') });
    const selfUnmute = host.getByRole('switch', { name: 'Participants can unmute' });
    expect(await selfUnmute.getAttribute('aria-checked')).toBe('true');
    await selfUnmute.click();
    await expect.poll(() => selfUnmute.getAttribute('aria-checked'), { timeout: 10_000 }).toBe('false');
    // Switching it off mutes no one; once the guest mutes, unmuting is refused with a notice.
    await guest.getByRole('button', { name: 'Mute microphone' }).click();
    await expect
      .poll(() => tile.locator('.name').textContent(), { timeout: 10_000 })
      .toBe('Guest Gal (muted)');
    await guest.getByRole('button', { name: 'Unmute microphone' }).click();
    await guest.getByText(/A host holds your microphone off/).waitFor({ timeout: 10_000 });
    await screenshot(guest, 'self-unmute-off');
    expect(await tile.locator('.name').textContent()).toBe('Guest Gal (muted)');
    // The host's own microphone is never held.
    await host.getByRole('button', { name: 'Mute microphone' }).click();
    await host.getByRole('button', { name: 'Unmute microphone' }).click();
    await host.getByRole('button', { name: 'Mute microphone' }).waitFor({ timeout: 10_000 });
    // Asked by the host, the guest may.
    await host
      .getByRole('complementary', { name: 'Participants' })
      .getByRole('button', { name: 'Ask Guest Gal to unmute' })
      .click();
    await guest.getByText('A host asks you to turn your microphone back on.').waitFor({ timeout: 10_000 });
    await guest.getByRole('button', { name: 'Unmute microphone' }).click();
    await expect.poll(() => tile.locator('.name').textContent(), { timeout: 10_000 }).toBe('Guest Gal');
    await selfUnmute.click();
    await expect.poll(() => selfUnmute.getAttribute('aria-checked'), { timeout: 10_000 }).toBe('true');
  }, 60_000);

  it('lets the host remove the guest, who is told and cannot come back with the same token', async () => {
    await host.locator('.tile').getByRole('button', { name: 'Remove Guest Gal' }).click();
    await guest.getByText('A host removed you from this meeting.').waitFor({ timeout: 10_000 });
    await screenshot(guest, 'removed');
    await host.locator('video[aria-label="Guest Gal"]').waitFor({ state: 'detached', timeout: 10_000 });
    // The token the guest's browser used is banned: a socket with it is refused through NGINX.
    const socket = io(stack.url, {
      path: '/socket.io',
      transports: ['websocket'],
      auth: { token: guestToken },
      reconnection: false,
    });
    const refusal = await new Promise<string>((resolve) => {
      socket.once('connect_error', (error) => resolve(error.message));
      socket.once('connect', () => resolve('connected'));
    });
    socket.disconnect();
    expect(refusal).toBe('a host removed you from this meeting');
  }, 30_000);

  it('lets the host lock the meeting; a third browser with the link is refused with a clear message', async () => {
    await host.getByRole('button', { name: 'Lock meeting' }).click();
    await host.getByText('Locked: no one new can join').waitFor({ timeout: 10_000 });
    const late = await newPage();
    await late.goto(`${roomUrl}?name=Late%20Larry`);
    await late.getByRole('button', { name: 'Join' }).waitFor();
    await late.waitForFunction(() =>
      [...document.querySelectorAll('button')].some((b) => b.textContent === 'Join' && !b.disabled),
    );
    await late.getByRole('button', { name: 'Join' }).click();
    // (Seen once in about five runs: the pre-join hint missing. Say what the page showed then.)
    const shown = async () =>
      `late page: ${JSON.stringify(await late.locator('main').innerText())}; host badge: ${JSON.stringify(
        await host.locator('.badge').allInnerTexts(),
      )}`;
    await late
      .getByText('This meeting is locked: no one new can join')
      .waitFor({ timeout: 10_000 })
      .catch(async (error: unknown) => {
        throw new Error(`no refusal shown; ${await shown()}`, { cause: error });
      });
    await late
      .getByText('This meeting is locked: only its hosts can join.')
      .waitFor({ timeout: 5_000 })
      .catch(async (error: unknown) => {
        throw new Error(`no locked hint before joining; ${await shown()}`, { cause: error });
      });
    expect(await late.getByRole('button', { name: 'Leave' }).count()).toBe(0);
    await screenshot(late, 'locked-refused');
  }, 60_000);

  it('signs in without leaving the site whatever ?next= says, and keeps two tabs renewing at once signed in', async () => {
    const page = await newPage();
    const person = newAccount('Tabby');
    const csrf = { 'x-switchboard-request': '1' };
    expect(
      (await page.request.post(`${stack.url}/api/auth/register`, { data: person, headers: csrf })).status(),
    ).toBe(201);
    await page.request.post(`${stack.url}/api/auth/logout`, { headers: csrf });
    // A link that would send the browser to another site after signing in (`/<tab>/evil.example`).
    await page.goto(`${stack.url}/signin?next=/%09/evil.example/phish`);
    await page.getByLabel('Email').fill(person.email);
    await page.getByLabel('Password').fill(person.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: `Hello, ${person.displayName}` }).waitFor({ timeout: 10_000 });
    expect(new URL(page.url()).origin).toBe(stack.url);
    expect(new URL(page.url()).pathname).toBe('/');

    // Two tabs whose access token ran out renew the session at the same moment.
    const tabs = [page, await page.context().newPage()];
    await tabs[1].goto(stack.url);
    await tabs[1].getByRole('heading', { name: `Hello, ${person.displayName}` }).waitFor();
    const refreshes: number[] = [];
    page.context().on('response', (response) => {
      if (response.url().endsWith('/api/auth/refresh')) {
        refreshes.push(response.status());
      }
    });
    await page.context().clearCookies({ name: 'sb_at' });
    await Promise.all(tabs.map((tab) => tab.reload()));
    for (const tab of tabs) {
      await tab.getByRole('heading', { name: `Hello, ${person.displayName}` }).waitFor({ timeout: 10_000 });
    }
    // One renewal for both (the other tab waited for it), and the session is still alive after.
    expect(refreshes).toEqual([200]);
    const me = await page.request.get(`${stack.url}/api/me`);
    expect(me.status()).toBe(200);
    expect((await page.request.post(`${stack.url}/api/auth/refresh`, { headers: csrf })).status()).toBe(200);
  }, 60_000);

  it('ends the meeting for everyone when the host chooses to', async () => {
    await host.getByRole('button', { name: 'End for all' }).click();
    await host.getByText('A host ended the meeting for everyone.').waitFor({ timeout: 10_000 });
  });
});
