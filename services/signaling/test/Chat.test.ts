/**
 * Integration: chat through two real signaling instances joined by Redis, stored in real
 * Postgres — order, idempotent retries, gap fetch, private visibility, history pages, edits and
 * deletes, limits and malformed events.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatStore, type Pool } from '@switchboard/db';
import type { ChatMessage, ChatPage, JoinGrants, RequestName } from '@switchboard/protocol';
import { ensureRoom, uniqueRoom, waitFor } from '@switchboard/testing';
import { data, expectMalformedRefused, joined, next, request, TestClients, type Client } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'chat-test-secret-0123456789';
const CHAT_LIMIT = 40;

/** What one client saw: every chat message by sequence, and every revision it was told about. */
interface Seen {
  bySeq: Map<number, ChatMessage>;
  revs: number[];
}

function watch(client: Client): Seen {
  const seen: Seen = { bySeq: new Map(), revs: [] };
  client.on('chatMessage', (m) => {
    seen.bySeq.set(m.seq, m);
    seen.revs.push(m.rev);
  });
  client.on('chatRev', ({ rev }) => seen.revs.push(rev));
  return seen;
}

/** The next chat message the client receives that matches. */
function nextMessage(client: Client, matches: (m: ChatMessage) => boolean): Promise<ChatMessage> {
  return new Promise((resolve) => {
    const listener = (m: ChatMessage) => {
      if (matches(m)) {
        client.off('chatMessage', listener);
        resolve(m);
      }
    };
    client.on('chatMessage', listener);
  });
}

describe('chat (two signaling instances, Redis, Postgres, a real media node)', () => {
  let h: Harness;
  let pool: Pool;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      signalingInstances: 2,
      signalingEnv: {
        SIGNALING_CHAT_MESSAGES_PER_10S: String(CHAT_LIMIT),
        SIGNALING_SOCKET_EVENTS_PER_10S: '100000',
        SIGNALING_CLIENT_EVENTS_PER_10S: '100000',
      },
    });
    ({ pool } = h);
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  /** A joined participant on signaling instance `instance`. */
  async function participant(
    room: string,
    name: string,
    instance: number,
    extra: Partial<JoinGrants> = {},
  ): Promise<{ client: Client; peerId: string; sub: string }> {
    const sub = extra.sub ?? `guest:${randomUUID()}`;
    const client = await clients.connect(
      h.signaling[instance].port,
      await clients.token(room, name, { sub, ...extra }),
    );
    const { peerId } = await joined(client);
    return { client, peerId, sub };
  }

  const send = (client: Client, body: string, extra: object = {}) =>
    request(client, 'chatSend', { clientId: randomUUID(), body, ...extra });

  it('delivers every message once, in one order, to everyone on both instances; acked means stored', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-order'));
    const people = [
      await participant(room, 'Ada', 0),
      await participant(room, 'Grace', 1),
      await participant(room, 'Linus', 0),
    ];
    const seen = people.map((p) => watch(p.client));
    const perPerson = 12;
    const acks = await Promise.all(
      people.flatMap((p, who) =>
        Array.from({ length: perPerson }, async (_, i) => {
          const answer = await send(p.client, `${who}-${i}`);
          const { message } = data<{ message: ChatMessage }>(answer);
          // The sender's socket has its message in the acknowledgement (it is not sent it again).
          seen[who].bySeq.set(message.seq, message);
          seen[who].revs.push(message.rev);
          // Acknowledged only after the commit: the row is there the moment the ack arrives.
          const { rowCount } = await pool.query(
            'SELECT 1 FROM chat_messages WHERE room_id = $1 AND seq = $2',
            [room, message.seq],
          );
          expect(rowCount).toBe(1);
          return message;
        }),
      ),
    );
    const total = people.length * perPerson;
    expect(acks.map((m) => m.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    await waitFor(() => seen.every((s) => s.bySeq.size === total), { what: 'every message everywhere' });
    const orders = seen.map((s) =>
      [...s.bySeq.keys()].sort((a, b) => a - b).map((seq) => s.bySeq.get(seq)?.body),
    );
    for (const order of orders) {
      expect(order).toEqual(orders[0]);
    }
    // Everyone was told about every revision exactly once (their own in the acknowledgement, the
    // others' as events): nothing to fetch, nothing doubled.
    for (const s of seen) {
      expect([...s.revs].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    }
  });

  it('stores a retried message once and answers the retry with the stored message', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-retry'));
    const ada = await participant(room, 'Ada', 0);
    const grace = await participant(room, 'Grace', 1);
    const clientId = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => request(ada.client, 'chatSend', { clientId, body: 'only once' })),
    );
    const results = answers.map((a) => data<{ message: ChatMessage; duplicate: boolean }>(a));
    expect(new Set(results.map((r) => r.message.seq)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const { rows } = await pool.query('SELECT seq FROM chat_messages WHERE room_id = $1', [room]);
    expect(rows).toHaveLength(1);
    // The room's revision moved once: no revision was taken by a retry (no gap that never fills).
    const { rows: roomRows } = await pool.query<{ chat_rev: string }>(
      'SELECT chat_rev FROM rooms WHERE id = $1',
      [room],
    );
    expect(Number(roomRows[0].chat_rev)).toBe(1);
    // Someone else cannot take over a message id.
    expect(await request(grace.client, 'chatSend', { clientId, body: 'mine now' })).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_EXISTS' },
    });
  });

  it('lets a client that missed messages fetch exactly what it missed, page by page', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-gap'));
    const ada = await participant(room, 'Ada', 0);
    const grace = await participant(room, 'Grace', 1);
    data(await send(grace.client, 'before the gap'));
    const rev = data<ChatPage>(await request(grace.client, 'chatHistory', {})).rev;
    expect(rev).toBe(1);
    grace.client.disconnect();
    for (let i = 0; i < 7; i++) {
      data(await send(ada.client, `missed ${i}`));
    }
    // Back with a new connection (same identity): the gap is filled from where it left off.
    const back = await participant(room, 'Grace', 0, { sub: grace.sub });
    const first = data<ChatPage>(await request(back.client, 'chatSync', { after: rev, limit: 4 }));
    expect(first.messages.map((m) => m.body)).toEqual(['missed 0', 'missed 1', 'missed 2', 'missed 3']);
    expect(first).toMatchObject({ rev: 5, more: true });
    const second = data<ChatPage>(await request(back.client, 'chatSync', { after: first.rev, limit: 4 }));
    expect(second.messages.map((m) => m.body)).toEqual(['missed 4', 'missed 5', 'missed 6']);
    expect(second).toMatchObject({ rev: 8, more: false });
    expect(data<ChatPage>(await request(back.client, 'chatSync', { after: 8 }))).toEqual({
      messages: [],
      rev: 8,
      more: false,
    });
  });

  it('shows a private message to its sender and recipient only; others get the bare revision', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-private'));
    const ada = await participant(room, 'Ada', 0);
    const grace = await participant(room, 'Grace', 1);
    const linus = await participant(room, 'Linus', 1);
    const [toGrace, linusRev] = [next(grace.client, 'chatMessage'), next(linus.client, 'chatRev')];
    const linusSaw: string[] = [];
    linus.client.on('chatMessage', (m) => linusSaw.push(m.body));
    const { message } = data<{ message: ChatMessage }>(await send(ada.client, 'psst', { to: grace.peerId }));
    expect(message.to).toMatchObject({ peerId: grace.peerId, displayName: 'Grace', sub: grace.sub });
    expect(await toGrace).toMatchObject({ seq: message.seq, body: 'psst' });
    expect(await linusRev).toEqual({ rev: message.rev });
    data(await send(ada.client, 'hello all'));
    for (const viewer of [linus, ada, grace]) {
      const history = data<ChatPage>(await request(viewer.client, 'chatHistory', {}));
      const sync = data<ChatPage>(await request(viewer.client, 'chatSync', { after: 0 }));
      const expected = viewer === linus ? ['hello all'] : ['psst', 'hello all'];
      expect(history.messages.map((m) => m.body)).toEqual(expected);
      expect(sync.messages.map((m) => m.body)).toEqual(expected);
      expect(history.rev).toBe(2);
    }
    expect(linusSaw).not.toContain('psst');
    // Search as Linus does not find it either.
    const store = new ChatStore(pool);
    expect(await store.search({ roomId: room, sub: linus.sub }, 'psst', 10)).toEqual([]);
    expect(await store.search({ roomId: room, sub: grace.sub }, 'psst', 10)).toHaveLength(1);
    // Private messages need someone else who is here.
    expect(await send(ada.client, 'me', { to: ada.peerId })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await send(ada.client, 'ghost', { to: randomUUID() })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
  });

  it('pages back through history by sequence without gaps or repeats', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-history'));
    const ada = await participant(room, 'Ada', 0);
    const store = new ChatStore(pool);
    for (let i = 1; i <= 120; i++) {
      await store.send({
        roomId: room,
        clientId: randomUUID(),
        from: { sub: ada.sub, peerId: ada.peerId, displayName: 'Ada' },
        to: null,
        body: `m${i}`,
      });
    }
    const late = await participant(room, 'Late', 1);
    const first = data<ChatPage>(await request(late.client, 'chatHistory', {}));
    expect(first.messages).toHaveLength(50);
    expect(first.messages[0].body).toBe('m71');
    expect(first.messages.at(-1)?.body).toBe('m120');
    expect(first).toMatchObject({ rev: 120, more: true });
    const all = [...first.messages];
    let page = first;
    while (page.more) {
      page = data<ChatPage>(await request(late.client, 'chatHistory', { before: all[0].seq, limit: 30 }));
      all.unshift(...page.messages);
    }
    expect(all.map((m) => m.body)).toEqual(Array.from({ length: 120 }, (_, i) => `m${i + 1}`));
  });

  it('stores concurrent sends in groups without gaps, doubles or one bad message spoiling the rest', async () => {
    const store = new ChatStore(pool);
    const rooms = [
      await ensureRoom(pool, uniqueRoom('batch-a')),
      await ensureRoom(pool, uniqueRoom('batch-b')),
      await ensureRoom(pool, uniqueRoom('batch-c')),
    ];
    const ada = { sub: `guest:${randomUUID()}`, peerId: randomUUID(), displayName: 'Ada' };
    const eve = { sub: `guest:${randomUUID()}`, peerId: randomUUID(), displayName: 'Eve' };
    const retried = Array.from({ length: 20 }, () => randomUUID());
    const shouting = Array.from({ length: 3 }, () => randomUUID().toUpperCase());
    const sends = [
      // 240 distinct messages over three rooms, all at once (they go in a few statements)...
      ...Array.from({ length: 240 }, (_, i) => ({ room: rooms[i % 3], clientId: randomUUID(), from: ada })),
      // ...each of 20 sent three times (retries racing their original)...
      ...retried.flatMap((clientId) => [0, 1, 2].map(() => ({ room: rooms[0], clientId, from: ada }))),
      // ...three with their clientId in capitals (Postgres answers a uuid in lower case)...
      ...shouting.map((clientId) => ({ room: rooms[1], clientId, from: ada })),
      // ...one of them claimed by someone else, and one for a room that does not exist.
      { room: rooms[0], clientId: retried[0], from: eve },
      { room: uniqueRoom('batch-missing'), clientId: randomUUID(), from: ada },
    ];
    const results = await Promise.allSettled(
      sends.map((s) =>
        store.send({ roomId: s.room, clientId: s.clientId, from: s.from, to: null, body: 'x' }),
      ),
    );
    const rejected = results.flatMap((r) =>
      r.status === 'rejected' ? [(r.reason as { code: string }).code] : [],
    );
    expect(rejected.sort()).toEqual(['ALREADY_EXISTS', 'NOT_FOUND']);
    for (const [i, room] of rooms.entries()) {
      const { rows } = await pool.query<{ seq: string; rev: string }>(
        'SELECT seq, rev FROM chat_messages WHERE room_id = $1 ORDER BY seq',
        [room],
      );
      const count = 80 + (i === 0 ? retried.length : 0) + (i === 1 ? shouting.length : 0);
      expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: count }, (_, n) => n + 1));
      const { rows: roomRows } = await pool.query<{ chat_rev: string }>(
        'SELECT chat_rev FROM rooms WHERE id = $1',
        [room],
      );
      expect(Number(roomRows[0].chat_rev)).toBe(count);
    }
    // Each retried message: one original, two duplicates, all with the same sequence number.
    for (const clientId of retried) {
      const mine = results.filter(
        (r, i) => sends[i].clientId === clientId && sends[i].from === ada && r.status === 'fulfilled',
      ) as PromiseFulfilledResult<{ message: ChatMessage; duplicate: boolean }>[];
      expect(mine).toHaveLength(3);
      expect(new Set(mine.map((r) => r.value.message.seq)).size).toBe(1);
      expect(mine.filter((r) => !r.value.duplicate)).toHaveLength(1);
    }
    // Each answer is the message as stored, whichever way it was stored.
    for (const [i, result] of results.entries()) {
      if (result.status === 'fulfilled') {
        const { message } = result.value;
        expect(message).toMatchObject({
          roomId: sends[i].room,
          clientId: sends[i].clientId.toLowerCase(),
          from: ada,
          to: null,
          body: 'x',
          rev: message.seq,
          editedAt: null,
          deleted: false,
        });
        expect(Date.parse(message.sentAt)).toBeGreaterThan(Date.now() - 60_000);
      }
    }
  });

  it('lets authors edit and delete their own messages, seen by everyone with a new revision', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-edit'));
    const ada = await participant(room, 'Ada', 0);
    const grace = await participant(room, 'Grace', 1);
    const { message } = data<{ message: ChatMessage }>(await send(ada.client, 'helo'));
    const edited = nextMessage(grace.client, (m) => m.editedAt !== null);
    const answer = data<{ message: ChatMessage }>(
      await request(ada.client, 'chatEdit', { seq: message.seq, body: 'hello' }),
    );
    expect(answer.message).toMatchObject({
      seq: message.seq,
      rev: message.rev + 1,
      body: 'hello',
      deleted: false,
    });
    expect(answer.message.editedAt).not.toBeNull();
    expect(await edited).toMatchObject({ seq: message.seq, body: 'hello' });
    expect(await request(grace.client, 'chatEdit', { seq: message.seq, body: 'hacked' })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED', message: 'you can only change your own messages' },
    });
    expect(await request(grace.client, 'chatDelete', { seq: message.seq })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
    const deleted = nextMessage(grace.client, (m) => m.deleted);
    data(await request(ada.client, 'chatDelete', { seq: message.seq }));
    expect(await deleted).toMatchObject({ seq: message.seq, body: '', deleted: true });
    const { rows } = await pool.query<{ body: string }>('SELECT body FROM chat_messages WHERE room_id = $1', [
      room,
    ]);
    expect(rows).toEqual([{ body: '' }]); // the text is gone, not hidden
    expect(await request(ada.client, 'chatEdit', { seq: message.seq, body: 'back' })).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION' },
    });
    expect(await request(ada.client, 'chatEdit', { seq: 999, body: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    // The history keeps the deleted message's place.
    const history = data<ChatPage>(await request(grace.client, 'chatHistory', {}));
    expect(history.messages).toMatchObject([{ seq: message.seq, deleted: true, body: '' }]);
    expect(history.rev).toBe(3);
  });

  it('rate limits one sender with a clear error while another sender in the room goes on', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-limit'));
    const fast = await participant(room, 'Fast', 0);
    const calm = await participant(room, 'Calm', 1);
    const answers = await Promise.all(
      Array.from({ length: CHAT_LIMIT + 10 }, (_, i) => send(fast.client, `spam ${i}`)),
    );
    const refused = answers.filter((a) => !a.ok);
    expect(refused.length).toBe(10);
    expect(refused[0]).toMatchObject({
      ok: false,
      error: {
        code: 'RESOURCE_EXHAUSTED',
        message: `you are sending messages too fast: at most ${CHAT_LIMIT} per 10 s`,
      },
    });
    expect((refused[0] as { error: { retryAfterSeconds: number } }).error.retryAfterSeconds).toBeGreaterThan(
      0,
    );
    expect((await send(calm.client, 'still here')).ok).toBe(true);
  });

  it('refuses malformed chat events and chat before joining, storing nothing', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-fuzz'), 'lobby');
    const host = await participant(room, 'Host', 0, { role: 'host' });
    const long = 'x'.repeat(4001);
    const bad: [RequestName, unknown][] = [
      ['chatSend', {}],
      ['chatSend', { clientId: 'not-a-uuid', body: 'x' }],
      ['chatSend', { clientId: randomUUID(), body: '' }],
      ['chatSend', { clientId: randomUUID(), body: '   ' }],
      ['chatSend', { clientId: randomUUID(), body: long }],
      ['chatSend', { clientId: randomUUID(), body: 'bell\u0007' }],
      ['chatSend', { clientId: randomUUID(), body: 42 }],
      ['chatSend', { clientId: randomUUID(), body: 'x', to: 5 }],
      ['chatSend', { clientId: randomUUID(), body: 'x', html: '<b>' }],
      ['chatEdit', { seq: 0, body: 'x' }],
      ['chatEdit', { seq: 1.5, body: 'x' }],
      ['chatEdit', { seq: '1', body: 'x' }],
      ['chatEdit', { seq: 1 }],
      ['chatDelete', { seq: -1 }],
      ['chatDelete', {}],
      ['chatHistory', { before: 0 }],
      ['chatHistory', { limit: 101 }],
      ['chatHistory', { limit: 0 }],
      ['chatSync', {}],
      ['chatSync', { after: -1 }],
      ['chatSync', { after: 0, limit: 501 }],
      ['chatTyping', { to: [] }],
      ['chatTyping', null],
    ];
    await expectMalformedRefused(host.client, bad);
    const tooLong = await send(host.client, long);
    expect(tooLong).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('at most 4000 characters') },
    });
    // A guest waiting in the lobby is not in the meeting: no chatting, no reading.
    const waiting = await clients.connect(h.signaling[1].port, await clients.token(room, 'Waiting'));
    const caps = data<{ rtpCapabilities: object }>(await request(waiting, 'getRouterRtpCapabilities', {}));
    expect(data<{ status: string }>(await request(waiting, 'join', caps)).status).toBe('lobby');
    for (const [event, payload] of [
      ['chatSend', { clientId: randomUUID(), body: 'let me in' }],
      ['chatHistory', {}],
      ['chatSync', { after: 0 }],
    ] as const) {
      expect(await request(waiting, event, payload), event).toMatchObject({
        ok: false,
        error: { code: 'FAILED_PRECONDITION', message: 'join the room first' },
      });
    }
    const { rowCount } = await pool.query('SELECT 1 FROM chat_messages WHERE room_id = $1', [room]);
    expect(rowCount).toBe(0);
  });

  it('relays typing at most every 2 s per socket, to the room or only to the private recipient', async () => {
    const room = await ensureRoom(pool, uniqueRoom('chat-typing'));
    const ada = await participant(room, 'Ada', 0);
    const grace = await participant(room, 'Grace', 1);
    const linus = await participant(room, 'Linus', 1);
    const graceSees = next(grace.client, 'chatTyping');
    expect(data(await request(ada.client, 'chatTyping', {}))).toEqual({ sent: true });
    expect(await graceSees).toEqual({ peerId: ada.peerId, displayName: 'Ada', private: false });
    expect(data(await request(ada.client, 'chatTyping', {}))).toEqual({ sent: false });
    let linusSaw = 0;
    linus.client.on('chatTyping', () => linusSaw++);
    const graceSeesPrivate = next(grace.client, 'chatTyping');
    expect(data(await request(linus.client, 'chatTyping', { to: grace.peerId }))).toEqual({ sent: true });
    expect(await graceSeesPrivate).toEqual({ peerId: linus.peerId, displayName: 'Linus', private: true });
    const other = await participant(room, 'Other', 0);
    const adaOnly = next(ada.client, 'chatTyping');
    data(await request(other.client, 'chatTyping', { to: ada.peerId }));
    await adaOnly;
    await new Promise((r) => setTimeout(r, 200));
    expect(linusSaw).toBe(0);
  });
});
