/**
 * socket.io clients for signaling's integration tests: join tokens, connecting (or seeing the
 * refusal), requests with their acknowledgement, joining a room and waiting for server events.
 */
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { expect } from 'vitest';
import { signJoinToken } from '@switchboard/auth';
import {
  SignalingConnection,
  type ChatMessage,
  type ChatPage,
  type ClientToServerEvents,
  type JoinGrants,
  type RequestName,
  type ServerToClientEvents,
} from '@switchboard/protocol';
import { testGrants } from '@switchboard/testing';

export type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
export type Answer =
  | { ok: true; data: Record<string, unknown> }
  | { ok: false; error: { code: string; message: string; retryAfterSeconds?: number } };

/** Makes tokens signed with the test secret and remembers every client to close it at the end. */
export class TestClients {
  readonly #secret: string;
  readonly #clients: Client[] = [];

  constructor(secret: string) {
    this.#secret = secret;
  }

  async token(room: string, name: string, extra: Partial<JoinGrants> = {}): Promise<string> {
    return (await signJoinToken(testGrants(room, name, extra), this.#secret, 60)).token;
  }

  /** A connected socket, or rejects with the connect_error when the server refuses it. */
  async connect(port: number, token: string): Promise<Client> {
    const client: Client = io(`http://127.0.0.1:${port}`, {
      auth: { token },
      transports: ['websocket'],
      reconnection: false,
    });
    this.#clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('connect_error', (error) => reject(error));
    });
    return client;
  }

  closeAll(): void {
    for (const client of this.#clients) {
      client.disconnect();
    }
  }
}

/** Sends a request as given (malformed ones too) and resolves with its acknowledgement, as it came. */
export function request(client: Client, event: RequestName, payload: object): Promise<Answer> {
  return new SignalingConnection(client, { timeoutMs: 30_000 }).answer(
    event,
    payload as never,
  ) as Promise<Answer>;
}

/** Asks for the router's capabilities and joins with them; the join's answer. */
export async function join(client: Client): Promise<Answer> {
  const caps = await request(client, 'getRouterRtpCapabilities', {});
  if (!caps.ok) {
    return caps;
  }
  return request(client, 'join', { rtpCapabilities: caps.data.rtpCapabilities as object });
}

/** Joins, asserting it worked; the join result. */
export async function joined(client: Client): Promise<{ peerId: string; lobby: { peerId: string }[] }> {
  const answer = await join(client);
  expect(answer).toMatchObject({ ok: true, data: { status: 'joined' } });
  return (answer as unknown as { data: { peerId: string; lobby: { peerId: string }[] } }).data;
}

/** The next `event` the client receives (a server event, or socket.io's `disconnect`). */
export function next<E extends keyof ServerToClientEvents>(
  client: Client,
  event: E,
): Promise<Parameters<ServerToClientEvents[E]>[0]>;
export function next(client: Client, event: 'disconnect'): Promise<string>;
export function next(client: Client, event: string): Promise<unknown> {
  return new Promise((resolve) =>
    (client.once as (e: string, l: (v: unknown) => void) => void)(event, resolve),
  );
}

/** Every `event` a client receives from now on, in order. */
export function record<E extends keyof ServerToClientEvents>(
  client: Client,
  event: E,
): Parameters<ServerToClientEvents[E]>[0][] {
  const seen: Parameters<ServerToClientEvents[E]>[0][] = [];
  (client.on as (e: string, l: (v: never) => void) => void)(event, (value) => seen.push(value));
  return seen;
}

/**
 * Sends each (event, payload) and expects every one refused as INVALID_ARGUMENT with a message
 * naming the event; fails listing whichever were accepted.
 */
export async function expectMalformedRefused(
  client: Client,
  attempts: [RequestName, unknown][],
): Promise<void> {
  const accepted: string[] = [];
  for (const [event, payload] of attempts) {
    const answer = await request(client, event, payload as object);
    if (answer.ok) {
      accepted.push(`${event} ${JSON.stringify(payload)}`);
    } else {
      expect(answer.error.code, `${event} ${JSON.stringify(payload)}`).toBe('INVALID_ARGUMENT');
      expect(answer.error.message).toMatch(new RegExp(`^invalid ${event} payload: `));
    }
  }
  expect(accepted).toEqual([]);
}

/**
 * The end of a delivery test: each sender's messages (bodies `<sender index>:<n>`) were stored in
 * the order it wrote them, and every client, after filling its gaps, holds the stored list.
 */
export async function expectSameOrderedLists(
  senders: OutboxClient[],
  stored: { body: string }[],
  perSender: number,
): Promise<void> {
  for (let i = 0; i < senders.length; i++) {
    expect(senders[i].outbox.size).toBe(0);
    const mine = stored.filter((r) => r.body.startsWith(`${i}:`)).map((r) => Number(r.body.split(':')[1]));
    expect(mine).toEqual(Array.from({ length: perSender }, (_, n) => n));
  }
  const expected = stored.map((r) => r.body);
  for (const sender of senders) {
    await sender.sync();
    const list = [...sender.messages.keys()]
      .sort((a, b) => a - b)
      .map((seq) => sender.messages.get(seq)?.body);
    expect(list, sender.name).toEqual(expected);
    sender.close();
  }
}

/** How long an OutboxClient waits for an ack before it counts the send as unanswered. */
const ACK_TIMEOUT_MS = 3000;

/**
 * What the browser's ChatClient does, without a browser: an outbox of unacknowledged messages
 * sent in order and resent after a reconnect, and the room's messages by sequence number, kept
 * whole by revision (a gap is filled with chatSync).
 */
export class OutboxClient {
  readonly name: string;
  readonly sub = `guest:${randomUUID()}`;
  readonly outbox = new Map<string, string>();
  readonly acked = new Set<string>();
  readonly messages = new Map<number, ChatMessage>();
  rev = 0;
  reconnects = 0;
  /** Sends that got no answer (their instance died) and went out again. */
  unanswered = 0;
  /** Sends refused (to be retried), by error code. */
  readonly refusals: Record<string, number> = {};
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
        continue;
      }
      // No answer (the instance died) or an error: the same message again, a little later.
      if (answer) {
        this.refusals[answer.error.code] = (this.refusals[answer.error.code] ?? 0) + 1;
      } else {
        this.unanswered++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** An answer's data, or throws its error. */
export function data<T>(answer: Answer): T {
  if (!answer.ok) {
    throw new Error(`${answer.error.code}: ${answer.error.message}`);
  }
  return answer.data as T;
}

/** What a browser sends for an Opus microphone track (one encoding). */
export const OPUS = {
  mid: '0',
  codecs: [
    {
      mimeType: 'audio/opus',
      payloadType: 111,
      clockRate: 48000,
      channels: 2,
      parameters: {},
      rtcpFeedback: [],
    },
  ],
  headerExtensions: [],
  encodings: [{ ssrc: 22222222 }],
  rtcp: { cname: 'test', reducedSize: true },
};

/** What a browser sends for a VP8 camera track (one encoding). */
export const VP8 = {
  mid: '1',
  codecs: [
    {
      mimeType: 'video/VP8',
      payloadType: 96,
      clockRate: 90000,
      parameters: {},
      rtcpFeedback: [
        { type: 'nack', parameter: '' },
        { type: 'nack', parameter: 'pli' },
        { type: 'ccm', parameter: 'fir' },
      ],
    },
  ],
  headerExtensions: [],
  encodings: [{ ssrc: 33333333 }],
  rtcp: { cname: 'test', reducedSize: true },
};

/** Creates a sending transport and produces audio (opus) and video (VP8) on it. */
export async function produceMedia(client: Client): Promise<{ audio: string; video: string }> {
  const send = await request(client, 'createWebRtcTransport', { producing: true });
  expect(send.ok).toBe(true);
  const transportId = (send as unknown as { data: { id: string } }).data.id;
  const ids: Record<string, string> = {};
  for (const [kind, rtpParameters] of [
    ['audio', OPUS],
    ['video', VP8],
  ] as const) {
    const produced = await request(client, 'produce', { transportId, kind, rtpParameters });
    expect(produced.ok, kind).toBe(true);
    ids[kind] = (produced as unknown as { data: { producerId: string } }).data.producerId;
  }
  return { audio: ids.audio, video: ids.video };
}
