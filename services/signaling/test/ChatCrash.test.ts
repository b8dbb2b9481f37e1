/**
 * The chat guarantee under a crash: four clients send 1,000 messages through two signaling
 * instances, one of them a separate process that is SIGKILLed mid-stream. Its clients reconnect
 * to the survivor and resend what was not acknowledged, with the same client ids, as the browser's
 * outbox does. In the end every acknowledged message is stored exactly once, nothing is stored
 * twice, and every client holds the same ordered list.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ChatPage } from '@switchboard/protocol';
import { ensureRoom, freePort, uniqueRoom, waitFor } from '@switchboard/testing';
import { join, request, TestClients, type Answer, type Client } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'chat-crash-test-secret-0123456789';
const TOTAL = 1000;
const SENDERS = 4;
const ACK_TIMEOUT_MS = 3000;
const UNLIMITED = {
  SIGNALING_CHAT_MESSAGES_PER_10S: '1000000',
  SIGNALING_SOCKET_EVENTS_PER_10S: '1000000',
  SIGNALING_CLIENT_EVENTS_PER_10S: '1000000',
};

/**
 * What the browser's ChatClient does, without a browser: an outbox of unacknowledged messages
 * sent in order and resent after a reconnect, and the room's messages by sequence number, kept
 * whole by revision (a gap is filled with chatSync).
 */
class OutboxClient {
  readonly name: string;
  readonly sub = `guest:${randomUUID()}`;
  readonly outbox = new Map<string, string>();
  readonly acked = new Set<string>();
  readonly messages = new Map<number, ChatMessage>();
  rev = 0;
  reconnects = 0;
  /** Sends that got no answer (their instance died) and went out again. */
  unanswered = 0;
  #closed = false;
  #socket?: Client;
  #connected?: Promise<void>;
  readonly #connect: (client: OutboxClient) => Promise<Client>;

  constructor(name: string, connect: (client: OutboxClient) => Promise<Client>) {
    this.name = name;
    this.#connect = connect;
  }

  /**
   * Connects (again, with backoff until it works), joins, and catches up on everything after the
   * last revision seen.
   */
  connect(): Promise<void> {
    this.#connected = (async () => {
      for (let attempt = 1; !this.#closed; attempt++) {
        try {
          const socket = await this.#connect(this);
          socket.on('chatMessage', (m) => this.messages.set(m.seq, m));
          data(await join(socket));
          await this.sync(socket);
          this.#socket = socket;
          socket.on('disconnect', () => {
            this.#socket = undefined;
            if (!this.#closed) {
              this.reconnects++;
              void this.connect();
            }
          });
          return;
        } catch {
          await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 1000)));
        }
      }
    })();
    return this.#connected;
  }

  close(): void {
    this.#closed = true;
    this.#socket?.disconnect();
  }

  async sync(socket = this.#socket): Promise<void> {
    if (!socket) {
      return;
    }
    let page: ChatPage;
    do {
      page = data<ChatPage>(await request(socket, 'chatSync', { after: this.rev, limit: 500 }));
      for (const m of page.messages) {
        this.messages.set(m.seq, m);
      }
      this.rev = page.rev;
    } while (page.more);
  }

  /** Writes a message to the outbox and sends the outbox until it is empty. */
  async send(body: string): Promise<void> {
    this.outbox.set(randomUUID(), body);
    while (this.outbox.size > 0) {
      const socket = this.#socket;
      if (!socket) {
        await this.#connected;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const [clientId, text] = this.outbox.entries().next().value as [string, string];
      const answer = await Promise.race([
        request(socket, 'chatSend', { clientId, body: text }),
        new Promise<undefined>((r) => setTimeout(r, ACK_TIMEOUT_MS, undefined)),
      ]);
      if (answer?.ok) {
        this.outbox.delete(clientId);
        this.acked.add(clientId);
        const { message } = answer.data as { message: ChatMessage };
        this.messages.set(message.seq, message);
      }
      if (!answer) {
        this.unanswered++;
      }
      // No answer (the instance died) or an error: the same message again, once reconnected.
    }
  }
}

function data<T>(answer: Answer): T {
  if (!answer.ok) {
    throw new Error(`${answer.error.code}: ${answer.error.message}`);
  }
  return answer.data as T;
}

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
      expect(sender.outbox.size).toBe(0);
      for (const clientId of sender.acked) {
        expect(stored.has(clientId)).toBe(true);
      }
    }
    expect(senders.reduce((n, s) => n + s.acked.size, 0)).toBe(TOTAL);
    // Each sender's own messages were stored in the order it wrote them.
    for (let i = 0; i < SENDERS; i++) {
      const mine = rows.filter((r) => r.body.startsWith(`${i}:`)).map((r) => Number(r.body.split(':')[1]));
      expect(mine).toEqual(Array.from({ length: perSender }, (_, n) => n));
    }

    // Every client, after filling its gaps, holds the same ordered list as Postgres.
    const expected = rows.map((r) => r.body);
    for (const sender of senders) {
      await sender.sync();
      const list = [...sender.messages.keys()]
        .sort((a, b) => a - b)
        .map((seq) => sender.messages.get(seq)?.body);
      expect(list, sender.name).toEqual(expected);
      sender.close();
    }
  }, 120_000);
});
