/**
 * Integration: presence across two signaling instances (Redis): in the call or away, seen by
 * everyone wherever they are connected and by later joiners; a departure says whether it was
 * meant (`left`) or a dropped connection (`disconnected`, shown as reconnecting).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRoom, uniqueRoom } from '@switchboard/testing';
import type { PeerInfo } from '@switchboard/protocol';
import { join, joined, next, request, TestClients } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'presence-test-secret-0123456789';

describe('presence (two signaling instances, Redis)', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET, signalingInstances: 2 });
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  const participant = async (room: string, name: string, instance: number) => {
    const client = await clients.connect(h.signaling[instance].port, await clients.token(room, name));
    return { client, ...(await joined(client)) };
  };

  it('shows who is away to everyone, on every instance and to later joiners', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('presence'));
    const ada = await participant(room, 'Ada', 0);
    const grace = await participant(room, 'Grace', 1);
    const seen = next(grace.client, 'presenceChanged');
    expect((await request(ada.client, 'setPresence', { state: 'away' })).ok).toBe(true);
    expect(await seen).toEqual({ peerId: ada.peerId, state: 'away' });

    const late = await clients.connect(h.signaling[1].port, await clients.token(room, 'Late'));
    const answer = await join(late);
    const peers = (answer as unknown as { data: { peers: PeerInfo[] } }).data.peers;
    expect(peers.find((p) => p.peerId === ada.peerId)).toMatchObject({
      presence: 'away',
      displayName: 'Ada',
    });
    expect(peers.find((p) => p.peerId === grace.peerId)).toMatchObject({ presence: 'active' });
    expect(peers.every((p) => p.sub?.startsWith('guest:'))).toBe(true);

    const back = next(late, 'presenceChanged');
    expect((await request(ada.client, 'setPresence', { state: 'active' })).ok).toBe(true);
    expect(await back).toEqual({ peerId: ada.peerId, state: 'active' });
    expect(await request(ada.client, 'setPresence', { state: 'asleep' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
  });

  it('tells the others whether someone left or lost their connection', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('presence-leave'));
    const ada = await participant(room, 'Ada', 0);
    const leaver = await participant(room, 'Leaver', 1);
    const dropped = await participant(room, 'Dropped', 1);
    const left = next(ada.client, 'peerLeft');
    expect((await request(leaver.client, 'leave', {})).ok).toBe(true);
    expect(await left).toEqual({ peerId: leaver.peerId, reason: 'left' });
    // The network goes: the transport closes under the socket, nobody said goodbye.
    const lost = next(ada.client, 'peerLeft');
    dropped.client.io.engine.close();
    expect(await lost).toEqual({ peerId: dropped.peerId, reason: 'disconnected' });
  });

  it('refuses presence before joining', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('presence-early'), 'lobby');
    const waiting = await clients.connect(h.signaling[0].port, await clients.token(room, 'Waiting'));
    expect(await request(waiting, 'setPresence', { state: 'away' })).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION' },
    });
  });
});
