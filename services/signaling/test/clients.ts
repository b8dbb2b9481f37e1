/**
 * socket.io clients for signaling's integration tests: join tokens, connecting (or seeing the
 * refusal), requests with their acknowledgement, joining a room and waiting for server events.
 */
import { io, type Socket } from 'socket.io-client';
import { expect } from 'vitest';
import { signJoinToken } from '@switchboard/auth';
import type {
  ClientToServerEvents,
  JoinGrants,
  RequestName,
  ServerToClientEvents,
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

export function request(client: Client, event: RequestName, payload: object): Promise<Answer> {
  return new Promise((resolve) =>
    (client.emit as (e: string, p: object, a: (r: Answer) => void) => void)(event, payload, resolve),
  );
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
