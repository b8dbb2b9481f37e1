/**
 * Rooms over the workers of one real media node: new rooms go to the worker with the fewest
 * routers, and one room spreads across two workers, with real RTP from participants on
 * libwebrtc. Capacity is two consumers per worker, so once the worker of the room's router is
 * full the next participant's transports go on a router of the room on the other worker, and
 * producers are piped between the two routers (pipeToRouter): media flows both ways, the room's
 * audio levels still hear everyone, and closing a producer closes its piped copy's consumers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRoom, uniqueRoom, waitFor } from '@switchboard/testing';
import type { MediaNode } from '../../media/src/MediaNode';
import { data, joined, record, request, TestClients } from './clients';
import { startHarness, type Harness } from './harness';
import { RtcParticipants } from './rtcPeer';

const SECRET = 'across-workers-test-secret-0123456789';

describe('one room across two workers of a node (pipeToRouter)', () => {
  let h: Harness;
  let node: MediaNode;
  const clients = new TestClients(SECRET);
  const room = uniqueRoom('workers');

  const participants = new RtcParticipants(clients);
  const participant = (name: string) => participants.join(h.signaling[0].port, room, name);

  /** Transports on each worker, in the pool's order. */
  const transportsByWorker = () => node.load().workers.map((w) => w.transports);

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      mediaEnv: { MEDIA_NUM_WORKERS: '2', MEDIA_MAX_CONSUMERS_PER_WORKER: '2' },
    });
    node = h.media[0];
    await ensureRoom(h.pool, room);
  });

  afterAll(async () => {
    participants.closeAll();
    clients.closeAll();
    await h?.close();
  });

  it('puts new rooms on the worker with the fewest routers', async () => {
    expect(node.load().workers.map((w) => w.routers)).toEqual([0, 0]);
    for (const name of ['Solo one', 'Solo two']) {
      const other = uniqueRoom('workers-solo');
      await ensureRoom(h.pool, other);
      const client = await clients.connect(h.signaling[0].port, await clients.token(other, name));
      await joined(client);
    }
    expect(node.load().workers.map((w) => w.routers)).toEqual([1, 1]);
  });

  it('spreads the room to the other worker when its own is full; media flows both ways', async () => {
    const alice = await participant('Alice');
    const bob = await participant('Bob');
    const first = transportsByWorker().findIndex((n) => n === 4);
    expect(first, 'Alice and Bob on one worker').toBeGreaterThanOrEqual(0);
    await bob.consume({ producerId: alice.producers.video! });
    await bob.consume({ producerId: alice.producers.audio! });

    const carol = await participant('Carol');
    const byWorker = transportsByWorker();
    expect(byWorker[first]).toBe(4);
    expect(byWorker[1 - first], "Carol's transports on the other worker").toBe(2);
    expect(
      node.load().workers.map((w) => w.routers),
      'a second router for the room, on the other worker',
    ).toEqual([2, 2]);
    expect(node.load().rooms).toBe(3);

    await carol.consume({ producerId: alice.producers.video! });
    await alice.consume({ producerId: carol.producers.video! });
    await carol.receiving(alice.producers.video!, "Alice's video reaching Carol on the other worker");
    await alice.receiving(carol.producers.video!, "Carol's video reaching Alice from the other worker");

    // The audio observers are on the room's first router: Carol's microphone is piped there.
    const levels = record(alice.client, 'audioLevels');
    await waitFor(() => levels.some((e) => e.levels.some((l) => l.peerId === carol.peerId)), {
      timeoutMs: 10_000,
      what: "Carol's level in the room's audio levels",
    });

    const closed = record(carol.client, 'consumerClosed');
    data(await request(alice.client, 'closeProducer', { producerId: alice.producers.video! }));
    await waitFor(() => closed.some((c) => c.producerId === alice.producers.video), {
      timeoutMs: 5000,
      what: "Carol's consumer of Alice's video closing with the producer",
    });
  });
});
