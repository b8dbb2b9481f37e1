/**
 * End to end, as people chat in a call: three participants in Chromium write to each other
 * (links clickable, an XSS payload shown as text), a private message reaches only its recipient,
 * the unread count shows on the Chat button, a page reloaded while one message was lost on its way
 * and another's acknowledgement was lost sends both again from its outbox and everyone has each
 * once, a late joiner sees the history at once, and search finds a message. The panel is saved to
 * docs/screens/chat.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@switchboard/db';
import { testDatabaseUrl } from '@switchboard/testing';
import { ROOT, Stack } from '../../scripts/Stack';
import {
  clickJoin,
  createRoom,
  E2E_BACKENDS,
  E2E_ENV,
  launchChromium,
  marksSince,
  openRoom,
  waitForRemoteVideos,
  type Participant,
} from './browser';
import { E2E_PORTS } from './ports';

const XSS = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;

/** The bodies of the messages the page's chat panel shows, in order. */
async function shownBodies(page: Page): Promise<string[]> {
  return page.locator('.chat ol[aria-label="Messages"] li.message:not(.pending) .body').allInnerTexts();
}

async function openChat(page: Page): Promise<void> {
  await page.getByRole('button', { name: /^Chat/ }).click();
  await page.getByRole('complementary', { name: 'Chat' }).waitFor();
}

async function say(page: Page, text: string, to = 'Everyone'): Promise<void> {
  await page.getByLabel('Send to').selectOption({ label: to });
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send message' }).click();
}

async function waitForBody(page: Page, text: string): Promise<void> {
  await page
    .locator('.chat ol[aria-label="Messages"] li.message:not(.pending) .body', { hasText: text })
    .first()
    .waitFor({ timeout: 15_000 });
}

describe('chat and presence in the browser: three participants, private messages, reload mid-send, away, reconnecting, history, search', () => {
  let stack: Stack;
  let browser: Browser;
  let pool: Pool;
  let room = '';
  const people: Participant[] = [];

  beforeAll(async () => {
    mkdirSync(join(ROOT, 'docs/screens'), { recursive: true });
    stack = await Stack.start({
      ...E2E_BACKENDS,
      ports: E2E_PORTS,
      runDir: join(ROOT, '.run/e2e-chat'),
      log: () => {},
      prometheus: false,
      env: E2E_ENV,
    });
    browser = await launchChromium();
    pool = createPool(testDatabaseUrl());
    ({ id: room } = await createRoom(stack.url, { name: 'Chat e2e' }));
  }, 240_000);

  afterAll(async () => {
    for (const p of people) {
      await p.context.close().catch(() => {});
    }
    await browser?.close();
    await pool?.end();
    await stack?.stop();
  }, 60_000);

  it('carries messages between three participants, links clickable and markup shown as text', async () => {
    for (const name of ['Ada', 'Grace', 'Linus']) {
      const participant = await openRoom(browser, stack.url, room, name);
      await clickJoin(participant);
      await participant.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
      people.push(participant);
    }
    const [ada, grace, linus] = people;
    await waitForRemoteVideos(ada, ['Grace', 'Linus']);
    for (const p of people) {
      await openChat(p.page);
      await p.page.getByText('No messages yet').waitFor();
    }
    await say(ada.page, 'Agenda: https://example.com/agenda?week=48.');
    await say(grace.page, XSS);
    await say(linus.page, 'Ready when you are');
    for (const p of people) {
      await waitForBody(p.page, 'Ready when you are');
      await waitForBody(p.page, 'Agenda');
      await waitForBody(p.page, '<img src=x');
      const bodies = await shownBodies(p.page);
      expect(bodies).toHaveLength(3);
      expect(bodies).toEqual(expect.arrayContaining([XSS, 'Ready when you are']));
      // The link is a real link (trailing full stop left out); the markup did nothing.
      const link = p.page.getByRole('link', { name: 'https://example.com/agenda?week=48' });
      expect(await link.getAttribute('href')).toBe('https://example.com/agenda?week=48');
      expect(await link.getAttribute('rel')).toContain('noopener');
      expect(await p.page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
      expect(await p.page.locator('.chat img, .chat script').count()).toBe(0);
    }
    // Everyone sees the same order: the one the server gave.
    const orders = await Promise.all(people.map((p) => shownBodies(p.page)));
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
  }, 120_000);

  it('shows a private message to its recipient only, and counts unread messages on the Chat button', async () => {
    const [ada, grace, linus] = people;
    await linus.page.getByRole('button', { name: 'Close chat' }).click();
    await say(ada.page, 'Grace, can you present next?', 'Grace (private)');
    await waitForBody(grace.page, 'Grace, can you present next?');
    await grace.page.getByText('private to you').waitFor();
    await say(ada.page, 'Starting in one minute');
    await waitForBody(grace.page, 'Starting in one minute');
    // Linus, with the panel closed, has one unread message: the public one.
    await linus.page.getByLabel('1 unread').waitFor({ timeout: 10_000 });
    await openChat(linus.page);
    await waitForBody(linus.page, 'Starting in one minute');
    expect(await shownBodies(linus.page)).not.toContain('Grace, can you present next?');
    await linus.page.getByLabel(/unread/).waitFor({ state: 'detached', timeout: 5_000 }); // read now
    await grace.page.screenshot({ path: join(ROOT, 'docs/screens/chat.png') });
  }, 60_000);

  /** Linus's sockets, through the test's WebSocket proxy (set up below): to cut them. */
  const connections: { page: WebSocketRoute; server: WebSocketRoute }[] = [];
  let blocking = false;

  it('sends outboxed messages once after the page reloads mid-send (lost on the way, or its ack lost)', async () => {
    const linus = people[2];
    const lostAck = 'stored, but my page never heard back';
    const neverSent = 'lost on the way to the server';
    // Linus's socket through a proxy that loses one message on its way to the server, and the
    // acknowledgement (and fan-out) of another on the way back: both stay in the outbox.
    let dropping = true;
    await linus.page.routeWebSocket(/\/socket\.io\//, (ws) => {
      if (blocking) {
        void ws.close(); // the network is down: no connection gets through
        return;
      }
      const server = ws.connectToServer();
      connections.push({ page: ws, server });
      ws.onMessage((message) => {
        if (!(dropping && typeof message === 'string' && message.includes(neverSent))) {
          server.send(message);
        }
      });
      server.onMessage((message) => {
        if (!(dropping && typeof message === 'string' && message.includes(lostAck))) {
          ws.send(message);
        }
      });
    });
    // The route applies to new sockets: reconnect through it (reload, join, open chat).
    await linus.page.reload();
    await linus.page.getByRole('button', { name: 'Join' }).click();
    await linus.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    await openChat(linus.page);
    await say(linus.page, lostAck);
    await waitForBody(people[0].page, lostAck); // stored and delivered to the others
    await say(linus.page, neverSent);
    await linus.page.locator('li.pending', { hasText: lostAck }).waitFor();
    await linus.page.locator('li.pending', { hasText: neverSent }).waitFor();
    expect(await shownBodies(people[0].page)).not.toContain(neverSent);
    dropping = false;
    await linus.page.reload();
    // After the reload the outbox (IndexedDB) still has both; joining sends them again.
    await linus.page.getByRole('button', { name: 'Join' }).click();
    await linus.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    await openChat(linus.page);
    for (const text of [lostAck, neverSent]) {
      await waitForBody(linus.page, text);
      for (const p of people) {
        await waitForBody(p.page, text);
      }
    }
    await expect.poll(async () => linus.page.locator('li.pending').count(), { timeout: 10_000 }).toBe(0);
    for (const p of people) {
      const bodies = await shownBodies(p.page);
      expect(bodies.filter((b) => b === lostAck)).toHaveLength(1);
      expect(bodies.filter((b) => b === neverSent)).toHaveLength(1);
    }
    const { rows } = await pool.query<{ body: string }>(
      'SELECT body FROM chat_messages WHERE room_id = $1 AND body = ANY($2) ORDER BY seq',
      [room, [lostAck, neverSent]],
    );
    expect(rows.map((r) => r.body)).toEqual([lostAck, neverSent]);
  }, 90_000);

  it('shows the others who is away, and who lost their connection until they are back', async () => {
    const [ada, grace, linus] = people;
    const graceTile = ada.page.locator('.tile', { has: ada.page.getByLabel('Grace', { exact: true }) });
    const setHidden = (hidden: boolean) =>
      grace.page.evaluate((h) => {
        Object.defineProperty(document, 'hidden', { value: h, configurable: true });
        Object.defineProperty(document, 'visibilityState', {
          value: h ? 'hidden' : 'visible',
          configurable: true,
        });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    await graceTile.getByText('· away').waitFor({ timeout: 10_000 });
    await setHidden(false);
    await graceTile.getByText('· away').waitFor({ state: 'detached', timeout: 10_000 });

    // Linus's network drops (his socket is cut and new ones fail for a few seconds): the others
    // see him reconnecting, then back, without anyone clicking anything.
    blocking = true;
    const cutAt = Date.now();
    const current = connections.at(-1);
    await current?.page.close();
    await current?.server.close();
    await ada.page.getByText('Linus is reconnecting…').waitFor({ timeout: 10_000 });
    await linus.page
      .getByText(/Reconnecting/)
      .first()
      .waitFor({ timeout: 10_000 });
    await ada.page.screenshot({ path: join(ROOT, 'docs/screens/presence-reconnecting.png') });
    blocking = false;
    // Linus rejoins by himself at his next attempt (they back off to 8 s apart), then Ada sees him.
    await linus.page
      .getByText(/Reconnecting/)
      .first()
      .waitFor({ state: 'detached', timeout: 45_000 })
      .then(() => waitForRemoteVideos(ada, ['Linus'], 30_000))
      .catch(async (error: unknown) => {
        // Where Linus's rejoin went and when Ada consumed him: the cause when his video never plays.
        for (const p of [linus, ada]) {
          console.info(await marksSince(p, cutAt));
        }
        throw error;
      });
    await ada.page.getByText('Linus is reconnecting…').waitFor({ state: 'detached' });
    expect(await ada.page.locator('.tile[data-presence="reconnecting"]').count()).toBe(0);
  }, 120_000);

  it('shows a late joiner the history at once, and finds a message by search', async () => {
    const late = await openRoom(browser, stack.url, room, 'Late');
    people.push(late);
    await clickJoin(late);
    await late.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 20_000 });
    await openChat(late.page);
    await waitForBody(late.page, 'Starting in one minute');
    const bodies = await shownBodies(late.page);
    expect(bodies).toContain('Ready when you are');
    expect(bodies).not.toContain('Grace, can you present next?');
    await late.page.getByLabel('Search messages').fill('agendas');
    await late.page.getByRole('button', { name: 'Search', exact: true }).click();
    const results = late.page.getByRole('region', { name: 'Search results' });
    await results.getByText('1 found').waitFor();
    expect(await results.locator('mark').allInnerTexts()).toEqual(['Agenda']);
    await late.page.getByLabel('Search messages').fill('present');
    await late.page.getByRole('button', { name: 'Search', exact: true }).click();
    await results.getByText('Nothing matches').waitFor(); // the private one stays private
  }, 90_000);
});
