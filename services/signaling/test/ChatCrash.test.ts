/**
 * The chat guarantee under a crash: four clients send 1,000 messages through two signaling
 * instances, one of them a separate process that is SIGKILLed mid-stream. Its clients reconnect
 * to the survivor and resend what was not acknowledged, with the same client ids, as the browser's
 * outbox does. In the end every acknowledged message is stored exactly once, nothing is stored
 * twice, and every client holds the same ordered list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRoom, freePort, uniqueRoom, waitFor } from '@switchboard/testing';
import { expectSameOrderedLists, OutboxClient, TestClients } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'chat-crash-test-secret-0123456789';
const TOTAL = 1000;
const SENDERS = 4;
const UNLIMITED = {
  SIGNALING_CHAT_MESSAGES_PER_10S: '1000000',
  SIGNALING_SOCKET_EVENTS_PER_10S: '1000000',
  SIGNALING_CLIENT_EVENTS_PER_10S: '1000000',
};

describe('chat through a signaling crash (SIGKILL of a separate process)', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET, signalingEnv: { ...UNLIMITED, SIGNALING_HEARTBEAT_MS: '500' } });
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  it('stores every acknowledged message once and leaves every client with the same ordered list', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('chat-crash'));
    const doomedPort = await freePort();
    const doomed = h.spawnSignaling(doomedPort);
    await h.passingSignaling(doomedPort);
    const survivorPort = h.signaling[0].port;
    let killed = false;

    // Two clients start on the process that will die; after it dies, everyone reconnects to the
    // survivor (what NGINX does for a browser whose instance is gone).
    const senders = Array.from(
      { length: SENDERS },
      (_, i) =>
        new OutboxClient(`sender-${i}`, async (client) => {
          const port = i < 2 && !killed ? doomedPort : survivorPort;
          return clients.connect(port, await clients.token(room, client.name, { sub: client.sub }));
        }),
    );
    await Promise.all(senders.map((s) => s.connect()));

    const perSender = TOTAL / SENDERS;
    const sending = senders.map(async (sender, i) => {
      for (let n = 0; n < perSender; n++) {
        await sender.send(`${i}:${n}`);
      }
    });
    // Kill the process once a good part of the messages went through it.
    await waitFor(() => senders[0].acked.size + senders[1].acked.size >= 150, {
      timeoutMs: 60_000,
      what: '150 messages acknowledged through the doomed process',
    });
    killed = true;
    doomed.kill('SIGKILL');
    await Promise.all(sending);

    expect(senders[0].reconnects + senders[1].reconnects).toBeGreaterThanOrEqual(2);
    expect(senders[2].reconnects + senders[3].reconnects).toBe(0);
    // Messages were in flight when the process died, and were sent again.
    expect(senders[0].unanswered + senders[1].unanswered).toBeGreaterThanOrEqual(1);

    // Stored exactly once each: 1,000 rows, 1,000 distinct client ids, sequence 1..1,000.
    const { rows } = await h.pool.query<{ seq: string; client_id: string; body: string }>(
      'SELECT seq, client_id, body FROM chat_messages WHERE room_id = $1 ORDER BY seq',
      [room],
    );
    expect(rows).toHaveLength(TOTAL);
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    const stored = new Set(rows.map((r) => r.client_id));
    for (const sender of senders) {
      for (const clientId of sender.acked) {
        expect(stored.has(clientId)).toBe(true);
      }
    }
    expect(senders.reduce((n, s) => n + s.acked.size, 0)).toBe(TOTAL);
    await expectSameOrderedLists(senders, rows, perSender);
  }, 120_000);
});
