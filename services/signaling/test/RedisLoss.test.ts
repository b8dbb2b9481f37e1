/**
 * Integration: Redis restarts empty (no persistence, which is Redis's default without snapshots
 * and how the machine's own Redis runs) under two signaling instances and two media nodes with a
 * meeting in progress. Within a few heartbeats each instance writes its rooms, peers, producers
 * and lobby again, so what Redis holds is what it held before, and a later joiner finds everyone
 * on the room's media node.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerInfo, ProducerInfo } from '@switchboard/protocol';
import { ensureRoom, startPrivateRedis, uniqueRoom, waitFor, type PrivateServer } from '@switchboard/testing';
import { nodeRoomsKey, roomMediaKey } from '../src/MediaDirectory';
import { data, join, joined, next, produceMedia, request, TestClients } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'redis-loss-test-secret-0123456789';

describe('Redis restarted without its data (two signaling instances, two media nodes)', () => {
  let server: PrivateServer;
  let redis: Redis;
  let h: Harness;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    server = await startPrivateRedis({ persistent: false });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    h = await startHarness({
      secret: SECRET,
      signalingInstances: 2,
      mediaNodes: 2,
      signalingEnv: { REDIS_URL: server.url, SIGNALING_HEARTBEAT_MS: '300' },
    });
  }, 60_000);

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
    redis?.disconnect();
    await server?.close();
  });

  it('has every instance write its rooms, peers, producers and lobby again', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('redis-loss'), 'lobby');
    const connect = async (instance: number, name: string, role: 'host' | 'guest' = 'guest') =>
      clients.connect(h.signaling[instance].port, await clients.token(room, name, { role }));

    // A host on instance 0; Grace (instance 1) admitted, sending, promoted, away, muted by the host;
    // Waiting (instance 1) still in the lobby.
    const host = await connect(0, 'Host', 'host');
    await joined(host);
    const grace = await connect(1, 'Grace');
    const graceAsks = next(host, 'lobbyRequest');
    await join(grace);
    const graceId = (await graceAsks).peerId;
    const admitted = next(grace, 'admitted');
    data(await request(host, 'admit', { peerId: graceId }));
    await admitted;
    await joined(grace);
    const { audio } = await produceMedia(grace);
    const promoted = next(grace, 'roleChanged');
    data(await request(host, 'promote', { peerId: graceId }));
    await promoted;
    data(await request(grace, 'setPresence', { state: 'away' }));
    const muted = next(grace, 'mutedByHost');
    data(await request(host, 'hostMute', { peerId: graceId, kind: 'audio' }));
    await muted;
    // Attributes and hands: Grace (instance 1) raises hers and says her pronouns; the host (instance
    // 0) lowers Grace's hand and raises its own. Instance 1 writes Grace back as she is now.
    data(await request(grace, 'setAttributes', { attributes: { hand: '1', pronouns: 'she/her' } }));
    const lowered = next(grace, 'attributesChanged');
    data(await request(host, 'setAttributes', { peerId: graceId, attributes: { hand: null } }));
    expect((await lowered).attributes).toEqual({ pronouns: 'she/her' });
    data(await request(host, 'setAttributes', { attributes: { hand: '1' } }));
    const waiting = await connect(1, 'Waiting');
    expect(await join(waiting)).toMatchObject({ ok: true, data: { status: 'lobby' } });

    const nodeId = await redis.get(roomMediaKey(room));
    expect(nodeId).toBeTruthy();
    const snapshot = async () => ({
      peers: parsed(await redis.hgetall(`sb:room:${room}:peers`)),
      producers: parsed(await redis.hgetall(`sb:room:${room}:producers`)),
      lobby: parsed(await redis.hgetall(`sb:room:${room}:lobby`)),
      sessions: (await redis.smembers(`sb:room:${room}:sessions`)).sort(),
      listed: await redis.sismember('sb:rooms', room),
      node: await redis.get(roomMediaKey(room)),
      onNode: await redis.sismember(nodeRoomsKey(nodeId!), room),
    });
    const before = await snapshot();
    expect(Object.keys(before.peers)).toHaveLength(2);
    expect(before.peers[graceId]).toMatchObject({
      role: 'host',
      presence: 'away',
      attributes: { pronouns: 'she/her' },
    });
    const hostEntry = Object.values(before.peers).find((p) => p.peerId !== graceId);
    expect((hostEntry?.attributes as { hand?: string }).hand).toMatch(/^\d+$/);
    expect(before.producers[audio]).toMatchObject({ kind: 'audio', paused: true });
    expect(Object.keys(before.lobby)).toHaveLength(1);
    expect(before.sessions).toHaveLength(2);

    // Redis goes and comes back with nothing (the instances may already be writing again).
    await redis.set('sb:test:marker', '1');
    await server.stop();
    await server.start();
    expect(await redis.exists('sb:test:marker')).toBe(0);

    await waitFor(
      async () => {
        const now = await snapshot();
        return Object.keys(now.peers).length === 2 && Object.keys(now.lobby).length === 1 && now.onNode === 1;
      },
      { timeoutMs: 15_000, what: 'peers and lobby registered again' },
    );
    expect(await snapshot()).toEqual(before);

    // Someone joining now is placed on the room's node and sees everyone as they were.
    const late = await connect(0, 'Late', 'host');
    const lateJoin = data<{ peers: PeerInfo[]; producers: ProducerInfo[]; lobby: { displayName: string }[] }>(
      await join(late),
    );
    expect(lateJoin.peers.map((p) => p.displayName).sort()).toEqual(['Grace', 'Host']);
    expect(lateJoin.peers.find((p) => p.peerId === graceId)).toMatchObject({
      role: 'host',
      presence: 'away',
      attributes: { pronouns: 'she/her' },
    });
    expect(lateJoin.peers.find((p) => p.peerId !== graceId)?.attributes?.hand).toMatch(/^\d+$/);
    expect(lateJoin.producers.find((p) => p.producerId === audio)).toMatchObject({ paused: true });
    expect(lateJoin.lobby.map((e) => e.displayName)).toEqual(['Waiting']);
    expect(await redis.get(roomMediaKey(room))).toBe(nodeId);
    expect(h.media.map((m) => m.roomCount).sort()).toEqual([0, 1]);
  });
});

const parsed = (hash: Record<string, string>): Record<string, Record<string, unknown>> =>
  Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, JSON.parse(v) as Record<string, unknown>]));
