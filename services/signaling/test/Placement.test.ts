/**
 * Load-aware placement with two real media nodes found through a real Consul: each node reports
 * its load (GetLoad, and its Consul meta kept current), new rooms go to the node with the most
 * headroom, and when every node is at capacity a new room is refused with a clear reason while
 * rooms already placed keep working. Capacity here: two consumers per worker (one worker each).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRoom, uniqueRoom, waitFor } from '@switchboard/testing';
import { roomMediaKey } from '../src/MediaDirectory';
import { data, join, joined, request, TestClients, VP8, type Client } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'placement-test-secret-0123456789';

describe('load-aware placement (two media nodes, capacity 2 consumers each)', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      mediaNodes: 2,
      mediaEnv: { MEDIA_MAX_CONSUMERS_PER_WORKER: '2' },
    });
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  const nodeOf = (room: string) => h.redis.get(roomMediaKey(room));

  /** A peer in `room`, joined (placing the room when it is new). */
  const peer = async (room: string, name: string): Promise<Client> => {
    await ensureRoom(h.pool, room);
    const client = await clients.connect(h.signaling[0].port, await clients.token(room, name));
    await joined(client);
    return client;
  };

  /** Two peers in `room`, one producing video and the other consuming it: one consumer. */
  const oneConsumer = async (room: string) => {
    const sender = await peer(room, 'Sender');
    const receiver = await peer(room, 'Receiver');
    const send = data<{ id: string }>(await request(sender, 'createWebRtcTransport', { producing: true }));
    const { producerId } = data<{ producerId: string }>(
      await request(sender, 'produce', { transportId: send.id, kind: 'video', rtpParameters: VP8 }),
    );
    const recv = data<{ id: string }>(await request(receiver, 'createWebRtcTransport', { producing: false }));
    const { consumerId } = data<{ consumerId: string }>(
      await request(receiver, 'consume', { transportId: recv.id, producerId }),
    );
    // Capacity counts consumers that forward media: resumed, of a producer not paused.
    data(await request(receiver, 'resumeConsumer', { consumerId }));
    return { sender, receiver };
  };

  it('reports each node’s load over gRPC and in Consul, and places rooms by headroom', async () => {
    const first = uniqueRoom('place-a');
    await oneConsumer(first);
    const busy = (await nodeOf(first))!;
    const busyNode = h.media.find((m) => m.consulId === busy)!;
    const load = busyNode.load();
    expect(load).toMatchObject({ rooms: 1, consumers: 1, maxConsumers: 2, accepting: true });
    expect(load.workers).toHaveLength(1);
    expect(load.workers[0]).toMatchObject({ pid: busyNode.workerPids[0], routers: 1, consumers: 1 });
    // The Consul registration follows within a few seconds.
    await waitFor(
      async () => {
        const instance = (await h.consul.client.instances('media')).find((i) => i.id === busy);
        return instance?.meta.consumers === '1' && instance.meta.max_consumers === '2';
      },
      { timeoutMs: 10_000, what: 'the load in the Consul meta' },
    );

    // New rooms all go to the other node: it soon has more rooms, but more headroom.
    for (const name of ['place-b', 'place-c', 'place-d']) {
      const room = uniqueRoom(name);
      await peer(room, 'Early');
      expect(await nodeOf(room), `${name} placed by headroom, not by room count`).not.toBe(busy);
    }
    expect(h.media.map((m) => m.roomCount).sort()).toEqual([1, 3]);
  });

  it('refuses new rooms when every node is full, while the calls there keep taking people', async () => {
    expect(h.media.map((m) => m.load().consumers).sort()).toEqual([0, 1]);
    // Fill both nodes to their two consumers.
    for (const node of h.media) {
      const room = [...node.roomIds][0];
      for (let i = node.load().consumers; i < 2; i++) {
        await oneConsumer(room);
      }
    }
    expect(h.media.map((m) => m.load().accepting)).toEqual([false, false]);
    const late = uniqueRoom('place-late');
    await ensureRoom(h.pool, late);
    const client = await clients.connect(h.signaling[0].port, await clients.token(late, 'Late'));
    expect(await join(client)).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE', message: expect.stringContaining('every media node is at capacity') },
    });
    // A call in progress still takes a newcomer (over capacity, on its own node) rather than
    // refuse them: capacity is a soft limit for calls, a hard one for new rooms.
    const placed = [...h.media[0].roomIds][0];
    expect(await peer(placed, 'Latecomer')).toBeDefined();
    expect(h.media[0].load().accepting).toBe(false);
    expect(h.media[1].roomIds).not.toContain(placed);
  });
});
