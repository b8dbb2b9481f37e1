/**
 * The server API (switchboard.rooms.v1.RoomService) as an integrator uses it: a gRPC client made
 * from proto/ alone (@grpc/proto-loader reads the .proto files; none of our generated code), and
 * the REST form described by /api/v1/openapi.json, against real signaling, media node, Postgres
 * and Redis, with participants connected over socket.io. Refusals: no key, a wrong secret, a
 * revoked key, a key without the scope, bad input, too many calls.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '@switchboard/db';
import { REPO_ROOT, waitFor } from '@switchboard/testing';
import { joined, next, produceMedia, record, request, TestClients } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'room-api-test-secret-0123456789abcdef';
const KEY_CALLS_PER_MINUTE = 60;

type Json = Record<string, unknown>;
type Unary = (
  request: Json,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Json>,
) => void;

/** The proto as a third party loads it: the .proto files only. */
const definition = protoLoader.loadSync('switchboard/rooms/v1/rooms.proto', {
  includeDirs: [join(REPO_ROOT, 'proto')],
  defaults: true,
});

/** A RoomService client generated at run time from the .proto files. */
function thirdPartyClient(port: number): Record<string, Unary> & grpc.Client {
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    switchboard: { rooms: { v1: { RoomService: grpc.ServiceClientConstructor } } };
  };
  const { RoomService } = loaded.switchboard.rooms.v1;
  return new RoomService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never;
}

describe('server API: RoomService over gRPC and REST (real signaling, media, Postgres, Redis)', () => {
  let h: Harness;
  let rpc: Record<string, Unary> & grpc.Client;
  let keys: ApiKeyStore;
  let full: string;
  let readOnly: string;
  const clients = new TestClients(SECRET);

  /** Calls a method with `key` (default: the full one; null: none), a 5 s deadline; the answer or the gRPC error. */
  const call = (method: string, body: Json, key: string | null = full) =>
    new Promise<{ ok: true; value: Json } | { ok: false; code: number; details: string }>((resolve) => {
      const metadata = new grpc.Metadata();
      if (key) {
        metadata.set('authorization', `Bearer ${key}`);
      }
      rpc[method](body, metadata, { deadline: Date.now() + 5000 }, (error, value) =>
        resolve(
          error
            ? { ok: false, code: error.code ?? -1, details: error.details ?? '' }
            : { ok: true, value: value as Json },
        ),
      );
    });
  const ok = async (method: string, body: Json, key = full): Promise<Json> => {
    const answer = await call(method, body, key);
    if (!answer.ok) {
      throw new Error(`${method} failed: ${answer.code} ${answer.details}`);
    }
    return answer.value;
  };
  const rest = (
    method: string,
    path: string,
    body?: unknown,
    key: string | null = full,
    headers: Record<string, string> = {},
  ) =>
    fetch(`http://127.0.0.1:${h.signaling[0].port}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** A participant joined with a token from CreateJoinToken, sending audio and video. */
  const participant = async (roomId: string, identity: string, role = 'participant') => {
    const { token } = (await ok('CreateJoinToken', { roomId, identity, displayName: identity, role })) as {
      token: string;
    };
    const client = await clients.connect(h.signaling[0].port, token);
    const { peerId } = await joined(client);
    const producers = await produceMedia(client);
    return { client, peerId, producers };
  };

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      signalingEnv: { API_KEY_RATE_LIMIT_PER_MINUTE: String(KEY_CALLS_PER_MINUTE) },
    });
    keys = new ApiKeyStore(h.pool);
    full = (
      await keys.create({
        name: 'backend',
        scopes: ['rooms:read', 'rooms:write', 'participants:write', 'tokens:create'],
        createdBy: null,
      })
    ).key;
    readOnly = (await keys.create({ name: 'dashboard', scopes: ['rooms:read'], createdBy: null })).key;
    rpc = thirdPartyClient(h.signaling[0].apiPort);
  }, 120_000);

  afterAll(async () => {
    clients.closeAll();
    rpc?.close();
    await h?.close();
  });

  it('refuses calls without a valid key, and keys without the scope, with clear errors', async () => {
    const none = await call('ListRooms', {}, null);
    expect(none).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect((none as { details: string }).details).toMatch(/missing API key/);
    const [id] = full.split(':');
    const wrong = await call('ListRooms', {}, `${id}:${'x'.repeat(43)}`);
    expect(wrong).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(await call('ListRooms', {}, 'not-a-key')).toMatchObject({
      ok: false,
      code: grpc.status.UNAUTHENTICATED,
    });
    const denied = await call('CreateRoom', { name: 'x' }, readOnly);
    expect(denied).toMatchObject({ ok: false, code: grpc.status.PERMISSION_DENIED });
    expect((denied as { details: string }).details).toMatch(/lacks the scope rooms:write/);
    // The read-only key reads.
    expect(await call('ListRooms', { pageSize: 1 }, readOnly)).toMatchObject({ ok: true });
    // Over REST the same, as HTTP statuses with { code, message }.
    const unauth = await rest('GET', '/api/v1/rooms', undefined, null);
    expect(unauth.status).toBe(401);
    expect(await unauth.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const forbidden = await rest('POST', '/api/v1/rooms', { name: 'x' }, readOnly);
    expect(forbidden.status).toBe(403);
  });

  it('validates every request: bad ids, unknown fields, wrong types, bad values', async () => {
    expect(await call('GetRoom', { roomId: 'Not A Room!' })).toMatchObject({
      ok: false,
      code: grpc.status.INVALID_ARGUMENT,
    });
    expect(await call('GetRoom', { roomId: 'no-such-room-here' })).toMatchObject({
      ok: false,
      code: grpc.status.NOT_FOUND,
    });
    expect(await call('CreateRoom', { policy: 'sometimes' })).toMatchObject({
      ok: false,
      code: grpc.status.INVALID_ARGUMENT,
    });
    expect(await call('ListRooms', { pageSize: 1000 })).toMatchObject({
      ok: false,
      code: grpc.status.INVALID_ARGUMENT,
    });
    expect(await call('ListRooms', { pageToken: 'garbage' })).toMatchObject({
      ok: false,
      code: grpc.status.INVALID_ARGUMENT,
    });
    const unknownField = await rest('POST', '/api/v1/rooms', { name: 'ok', colour: 'red' });
    expect(unknownField.status).toBe(400);
    expect(((await unknownField.json()) as { message: string }).message).toMatch(/colour/);
    const wrongType = await rest('POST', '/api/v1/rooms', { name: 42 });
    expect(wrongType.status).toBe(400);
    expect(((await wrongType.json()) as { message: string }).message).toMatch(/name: must be string/);
    expect((await rest('POST', '/api/v1/rooms', '{not json')).status).toBe(400);
    expect((await rest('POST', '/api/v1/rooms', 'x', full, { 'content-type': 'text/plain' })).status).toBe(
      415,
    );
    expect((await rest('POST', '/api/v1/rooms', { name: 'x'.repeat(20_000) })).status).toBe(413);
    expect((await rest('PUT', '/api/v1/rooms')).status).toBe(405);
    expect((await rest('GET', '/api/v1/nothing')).status).toBe(404);
    expect((await rest('GET', '/api/v1/rooms?size=3')).status).toBe(400);
    expect((await rest('GET', '/api/v1/rooms?pageSize=three')).status).toBe(400);
  });

  it('creates, lists a page at a time, gets and deletes rooms (gRPC and REST are one API)', async () => {
    const made: string[] = [];
    for (const name of ['API one', 'API two', 'API three']) {
      const { room } = (await ok('CreateRoom', { name, policy: 'lobby' })) as { room: Json };
      expect(room).toMatchObject({
        name,
        policy: 'lobby',
        participantCount: 0,
        path: `/r/${room.id as string}`,
      });
      made.push(room.id as string);
    }
    // Newest first, two per page, each room once.
    const first = (await ok('ListRooms', { pageSize: 2 })) as { rooms: Json[]; nextPageToken: string };
    expect(first.rooms.map((r) => r.id)).toEqual([made[2], made[1]]);
    const second = (await ok('ListRooms', { pageSize: 2, pageToken: first.nextPageToken })) as {
      rooms: Json[];
    };
    expect(second.rooms[0].id).toBe(made[0]);
    // REST: the same rooms, with every field present.
    const listed = (await (await rest('GET', '/api/v1/rooms?pageSize=2')).json()) as {
      rooms: Json[];
      nextPageToken: string;
    };
    expect(listed.rooms.map((r) => r.id)).toEqual([made[2], made[1]]);
    const got = await rest('GET', `/api/v1/rooms/${made[0]}`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({
      room: expect.objectContaining({
        id: made[0],
        name: 'API one',
        policy: 'lobby',
        participantCount: 0,
      }) as unknown,
    });
    const deleted = await rest('DELETE', `/api/v1/rooms/${made[0]}`);
    expect(await deleted.json()).toEqual({ disconnected: 0 });
    expect((await rest('GET', `/api/v1/rooms/${made[0]}`)).status).toBe(404);
  });

  it('mints join tokens, lists participants with their tracks, updates, mutes and removes them', async () => {
    // A private room: only the tokens minted here join it (the gateway gives its link none).
    const { room } = (await ok('CreateRoom', { name: 'Integrated', policy: 'private' })) as {
      room: { id: string; policy: string };
    };
    expect(room.policy).toBe('private');
    const host = await participant(room.id, 'hanna', 'host');
    const guest = await participant(room.id, 'gus');
    const { participants } = (await ok('ListParticipants', { roomId: room.id })) as { participants: Json[] };
    const gus = participants.find((p) => p.identity === 'api:gus') as Json;
    expect(gus).toMatchObject({
      id: guest.peerId,
      displayName: 'gus',
      role: 'participant',
      presence: 'active',
    });
    expect((gus.tracks as Json[]).map((t) => [t.kind, t.source, t.muted]).sort()).toEqual([
      ['audio', 'microphone', false],
      ['video', 'camera', false],
    ]);
    expect(((await ok('GetRoom', { roomId: room.id })) as { room: Json }).room.participantCount).toBe(2);

    // Attributes: everyone in the room is told once; then a promotion to host.
    const changes = record(host.client, 'attributesChanged');
    const updated = (await ok('UpdateParticipant', {
      roomId: room.id,
      participantId: guest.peerId,
      attributes: { team: 'blue' },
    })) as { participant: Json };
    expect(updated.participant.attributes).toEqual({ team: 'blue' });
    await waitFor(() => changes.length === 1, { what: 'attributesChanged at the host' });
    expect(changes[0]).toMatchObject({ peerId: guest.peerId, changed: { team: 'blue' } });
    const cleared = (await ok('UpdateParticipant', {
      roomId: room.id,
      participantId: guest.peerId,
      removeAttributes: ['team'],
    })) as { participant: Json };
    expect(cleared.participant.attributes).toEqual({});
    const big = await call('UpdateParticipant', {
      roomId: room.id,
      participantId: guest.peerId,
      attributes: { k: 'v'.repeat(5000) },
    });
    expect(big).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    const nothing = await call('UpdateParticipant', { roomId: room.id, participantId: guest.peerId });
    expect(nothing).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });

    // Mute the guest's microphone, not to be turned back on: paused on the SFU, the guest is told
    // and cannot resume it.
    const told = next(guest.client, 'mutedByHost');
    expect(
      await ok('MuteTrack', {
        roomId: room.id,
        participantId: guest.peerId,
        kind: 'audio',
        allowUnmute: false,
      }),
    ).toEqual({ muted: 1 });
    expect(await told).toEqual({ kind: 'audio', canUnmute: false });
    const after = (await ok('ListParticipants', { roomId: room.id })) as { participants: Json[] };
    const tracks = (after.participants.find((p) => p.id === guest.peerId) as Json).tracks as Json[];
    expect(tracks.find((t) => t.kind === 'audio')?.muted).toBe(true);
    expect(tracks.find((t) => t.kind === 'video')?.muted).toBe(false);
    const resume = await request(guest.client, 'resumeProducer', { producerId: guest.producers.audio });
    expect(resume).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED' } });
    expect(
      await call('MuteTrack', { roomId: room.id, participantId: guest.peerId, kind: 'smell' }),
    ).toMatchObject({
      ok: false,
      code: grpc.status.INVALID_ARGUMENT,
    });

    // Remove the guest: told, disconnected, and the identity gets no new token for this room.
    const removed = next(guest.client, 'removed');
    const gone = next(guest.client, 'disconnect');
    await ok('RemoveParticipant', { roomId: room.id, participantId: guest.peerId });
    expect(await removed).toMatchObject({ reason: expect.stringMatching(/removed you/) as unknown });
    await gone;
    const again = await call('CreateJoinToken', { roomId: room.id, identity: 'gus', displayName: 'gus' });
    expect(again).toMatchObject({ ok: false, code: grpc.status.PERMISSION_DENIED });
    expect(await call('RemoveParticipant', { roomId: room.id, participantId: guest.peerId })).toMatchObject({
      ok: false,
      code: grpc.status.NOT_FOUND,
    });

    // Make the token for a locked room: hosts only.
    await h.pool.query(`UPDATE rooms SET policy = 'locked' WHERE id = $1`, [room.id]);
    expect(
      await call('CreateJoinToken', { roomId: room.id, identity: 'late', displayName: 'Late' }),
    ).toMatchObject({
      ok: false,
      code: grpc.status.FAILED_PRECONDITION,
    });
    expect(
      await call('CreateJoinToken', { roomId: room.id, identity: 'x y', displayName: 'Bad' }),
    ).toMatchObject({
      ok: false,
      code: grpc.status.INVALID_ARGUMENT,
    });

    // Deleting the room ends the meeting for the host still in it.
    const ended = next(host.client, 'callEnded');
    expect(await ok('DeleteRoom', { roomId: room.id })).toEqual({ disconnected: 1 });
    expect(await ended).toMatchObject({ final: true });
    expect(await call('GetRoom', { roomId: room.id })).toMatchObject({
      ok: false,
      code: grpc.status.NOT_FOUND,
    });
  });

  it('serves its OpenAPI document, generated from the proto, and every path in it answers', async () => {
    const response = await rest('GET', '/api/v1/openapi.json', undefined, null);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      paths: Record<string, Record<string, { operationId: string; 'x-scope': string }>>;
    };
    const operations = Object.values(doc.paths).flatMap((methods) =>
      Object.values(methods).map((op) => op.operationId),
    );
    // One REST operation for each RPC of the protos (RoomService and NodeService), named after it.
    const nodes = protoLoader.loadSync('switchboard/nodes/v1/nodes.proto', {
      includeDirs: [join(REPO_ROOT, 'proto')],
    });
    expect(operations.sort()).toEqual(
      [
        ...Object.keys(definition['switchboard.rooms.v1.RoomService']),
        ...Object.keys(nodes['switchboard.nodes.v1.NodeService']),
      ].sort(),
    );
    expect(doc.paths['/api/v1/rooms'].post['x-scope']).toBe('rooms:write');
    expect(doc.paths['/api/v1/nodes/{node_id}/drain'].post['x-scope']).toBe('nodes:write');
  });

  it('stops a revoked key at once, and slows down a key that calls too often', async () => {
    const { record: made, key } = await keys.create({
      name: 'short-lived',
      scopes: ['rooms:read'],
      createdBy: null,
    });
    expect(await call('ListRooms', { pageSize: 1 }, key)).toMatchObject({ ok: true });
    await keys.revoke(made.id);
    expect(await call('ListRooms', { pageSize: 1 }, key)).toMatchObject({
      ok: false,
      code: grpc.status.UNAUTHENTICATED,
    });

    const busy = (await keys.create({ name: 'busy', scopes: ['rooms:read'], createdBy: null })).key;
    const answers = await Promise.all(
      Array.from({ length: KEY_CALLS_PER_MINUTE + 5 }, () =>
        rest('GET', '/api/v1/rooms?pageSize=1', undefined, busy),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(KEY_CALLS_PER_MINUTE);
    const limited = answers.find((a) => a.status === 429) as Response;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    // Another key is not slowed by it.
    expect(await call('ListRooms', { pageSize: 1 }, readOnly)).toMatchObject({ ok: true });
  });
});
