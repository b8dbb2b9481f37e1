/**
 * The operator's side of the server API (switchboard.nodes.v1.NodeService) against two real media
 * nodes, a real Consul, Postgres and Redis: a client generated from proto/ alone lists the nodes
 * with the load each answers over GetLoad and the rooms it is home to; an operator's session (the
 * console's cookie and header) drains the room's node over REST and the room moves to the other
 * node, with a `node.drained` event naming who asked. Refusals: a key without the scope, bad
 * input, an unknown node, a session without the console header, a non-operator's or a revoked
 * session.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeSession, signAccessToken } from '@switchboard/auth';
import { ApiKeyStore } from '@switchboard/db';
import { EVENT_STREAM, readEvent } from '@switchboard/events';
import { ensureRoom, REPO_ROOT, uniqueRoom, waitFor } from '@switchboard/testing';
import { roomMediaKey } from '../src/MediaDirectory';
import { joined, next, TestClients, type Client } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'node-api-test-secret-0123456789abcdef';

type Json = Record<string, unknown>;
interface Node {
  id: string;
  address: string;
  accepting: boolean;
  answered: boolean;
  draining: boolean;
  workers: number;
  consumers: number;
  maxConsumers: number;
  roomIds: string[];
}

const definition = protoLoader.loadSync('switchboard/nodes/v1/nodes.proto', {
  includeDirs: [join(REPO_ROOT, 'proto')],
  defaults: true,
});

describe('server API: NodeService (two real media nodes) and the console’s operator session', () => {
  let h: Harness;
  let rpc: grpc.Client & Record<string, grpc.requestCallback<Json> & ((...args: unknown[]) => void)>;
  let reader: string;
  let roomsOnly: string;
  const clients = new TestClients(SECRET);

  const call = (method: string, body: Json, key: string) =>
    new Promise<{ ok: true; value: Json } | { ok: false; code: number; details: string }>((resolve) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${key}`);
      (rpc[method] as (...args: unknown[]) => void)(
        body,
        metadata,
        { deadline: Date.now() + 5000 },
        (error: grpc.ServiceError | null, value: Json) =>
          resolve(error ? { ok: false, code: error.code, details: error.details } : { ok: true, value }),
      );
    });

  /** An access token as the gateway signs it at login (the `sb_at` cookie). */
  const session = async (operator: boolean) => {
    const sessionId = randomUUID();
    const { token } = await signAccessToken(
      { userId: randomUUID(), displayName: operator ? 'Ops' : 'Host', operator, sessionId },
      SECRET,
      600,
    );
    return { token, sessionId };
  };
  const asConsole = (method: string, path: string, token: string, body?: unknown, header = true) =>
    fetch(`http://127.0.0.1:${h.signaling[0].port}${path}`, {
      method,
      headers: {
        cookie: `other=1; sb_at=${token}`,
        ...(header ? { 'x-switchboard-request': '1' } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const peer = async (room: string, name: string): Promise<Client> => {
    await ensureRoom(h.pool, room);
    const client = await clients.connect(h.signaling[0].port, await clients.token(room, name));
    await joined(client);
    return client;
  };

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET, mediaNodes: 2 });
    const keys = new ApiKeyStore(h.pool);
    reader = (await keys.create({ name: 'ops-dashboard', scopes: ['nodes:read'], createdBy: null })).key;
    roomsOnly = (await keys.create({ name: 'crm', scopes: ['rooms:read'], createdBy: null })).key;
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      switchboard: { nodes: { v1: { NodeService: grpc.ServiceClientConstructor } } };
    };
    rpc = new loaded.switchboard.nodes.v1.NodeService(
      `127.0.0.1:${h.signaling[0].apiPort}`,
      grpc.credentials.createInsecure(),
    ) as never;
  }, 120_000);

  afterAll(async () => {
    clients.closeAll();
    rpc?.close();
    await h?.close();
  });

  it('lists both nodes with the load each answers and the rooms it is home to (gRPC, a client from proto/)', async () => {
    const room = uniqueRoom('nodes');
    await peer(room, 'Ada');
    await peer(room, 'Grace');
    const home = (await h.redis.get(roomMediaKey(room)))!;
    const answer = await call('ListNodes', {}, reader);
    expect(answer.ok).toBe(true);
    const nodes = (answer as unknown as { value: { nodes: Node[] } }).value.nodes;
    expect(nodes.map((n) => n.id).sort()).toEqual(h.media.map((m) => m.consulId).sort());
    for (const node of nodes) {
      const media = h.media.find((m) => m.consulId === node.id)!;
      expect(node).toMatchObject({
        answered: true,
        accepting: true,
        draining: false,
        workers: media.load().workers.length,
        address: `127.0.0.1:${media.grpcPort}`,
      });
      expect(node.maxConsumers).toBe(media.load().maxConsumers);
    }
    expect(nodes.find((n) => n.id === home)!.roomIds).toContain(room);
    expect(nodes.find((n) => n.id !== home)!.roomIds).not.toContain(room);

    // Refusals: the wrong scope, bad input, an unknown node.
    const denied = await call('ListNodes', {}, roomsOnly);
    expect(denied).toMatchObject({ ok: false, code: grpc.status.PERMISSION_DENIED });
    expect((denied as { details: string }).details).toMatch(/lacks the scope nodes:read/);
    expect(await call('DrainNode', { nodeId: home, deadlineSeconds: 5 }, reader)).toMatchObject({
      ok: false,
      code: grpc.status.PERMISSION_DENIED,
    });
    const { token } = await session(true);
    const bad = await asConsole('POST', `/api/v1/nodes/${home}/drain`, token, { deadlineSeconds: 99_999 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).message).toMatch(/deadlineSeconds: must be 1-3600/);
    const unknown = await asConsole('POST', '/api/v1/nodes/media-nowhere-1/drain', token, {});
    expect(unknown.status).toBe(404);
    expect(h.media.every((m) => m.load().accepting)).toBe(true);
  });

  it('takes an operator’s session only with the console header, and never a non-operator’s or a revoked one', async () => {
    const operator = await session(true);
    expect((await asConsole('GET', '/api/v1/nodes', operator.token)).status).toBe(200);
    // The cookie alone (what a cross-site request would carry) is no credential.
    const bare = await asConsole('GET', '/api/v1/nodes', operator.token, undefined, false);
    expect(bare.status).toBe(401);
    const host = await session(false);
    const refused = await asConsole('GET', '/api/v1/rooms', host.token);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Json).message).toMatch(/operators only/);
    await revokeSession(h.redis, operator.sessionId, 60);
    const revoked = await asConsole('GET', '/api/v1/nodes', operator.token);
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as Json).message).toMatch(/session has ended/);
  });

  it('drains the room’s node for an operator: the room moves, live rooms name the new node, node.drained says who', async () => {
    const room = uniqueRoom('drain-api');
    const ada = await peer(room, 'Ada');
    const grace = await peer(room, 'Grace');
    const home = (await h.redis.get(roomMediaKey(room)))!;
    const other = h.media.find((m) => m.consulId !== home)!.consulId;
    const since = `${Date.now() - 1000}-0`;
    const { token } = await session(true);

    const live = (await (await asConsole('GET', '/api/v1/rooms?live=true', token)).json()) as {
      rooms: { id: string; participantCount: number; mediaNodes: string[] }[];
    };
    expect(live.rooms.find((r) => r.id === room)).toMatchObject({ participantCount: 2, mediaNodes: [home] });

    const ended = [ada, grace].map((c) => next(c, 'callEnded'));
    const drained = await asConsole('POST', `/api/v1/nodes/${home}/drain`, token, { deadlineSeconds: 1 });
    expect(drained.status).toBe(200);
    expect(await drained.json()).toMatchObject({ rooms: expect.any(Number) });
    const nodes = ((await (await asConsole('GET', '/api/v1/nodes', token)).json()) as { nodes: Node[] })
      .nodes;
    expect(nodes.find((n) => n.id === home)).toMatchObject({ draining: true, accepting: false });

    // At the deadline both are told to rejoin (not that the meeting is over), and rejoining lands
    // on the other node.
    for (const notice of await Promise.all(ended)) {
      expect(notice.final).toBeFalsy();
    }
    await peer(room, 'Ada again');
    expect(await h.redis.get(roomMediaKey(room))).toBe(other);
    await waitFor(
      async () => {
        const after = (await (await asConsole('GET', '/api/v1/rooms?live=true', token)).json()) as {
          rooms: { id: string; mediaNodes: string[] }[];
        };
        return after.rooms.find((r) => r.id === room)?.mediaNodes.join() === other;
      },
      { timeoutMs: 10_000, what: 'the live room on the other node' },
    );
    await waitFor(
      async () =>
        !((await (await asConsole('GET', '/api/v1/nodes', token)).json()) as { nodes: Node[] }).nodes.some(
          (n) => n.id === home,
        ),
      { timeoutMs: 15_000, what: 'the drained node gone from ListNodes' },
    );

    const entries = (await h.redis.xrange(EVENT_STREAM, since, '+')) as [string, string[]][];
    const events = entries
      .map(([, fields]) => readEvent(fields[fields.indexOf('event') + 1]))
      .flatMap((read) => (read.ok ? [read.event] : []))
      .filter((event) => event.type === 'node.drained' && event.data.node === home);
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ deadlineSeconds: 1, by: expect.stringMatching(/^operator:/) });
  }, 60_000);
});
