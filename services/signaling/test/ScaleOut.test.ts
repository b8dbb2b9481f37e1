/**
 * Scale-out: two signaling instances joined only through Redis (socket.io adapter, presence, the
 * room → media node mapping) in front of two media nodes found through Consul. Peers on different
 * instances see each other, land on the same media node and exchange producers.
 */
import type { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJoinToken } from '@switchboard/auth';
import type { Pool } from '@switchboard/db';
import type { ClientToServerEvents, ServerToClientEvents } from '@switchboard/protocol';
import { ensureRoom, freePort, testGrants, uniqueRoom, waitFor } from '@switchboard/testing';
import type { MediaNode } from '../../media/src/MediaNode';
import { nodeRoomsKey, roomMediaKey } from '../src/MediaDirectory';
import type { SignalingServer } from '../src/SignalingServer';
import { VP8 } from './clients';
import { startHarness, type Harness } from './harness';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const SECRET = 'scale-out-test-secret-0123456789';

describe('two signaling instances, two media nodes', () => {
  let h: Harness;
  let media: MediaNode[];
  let signaling: SignalingServer[];
  const clients: Client[] = [];
  let redis: Redis;
  let pool: Pool;
  const room = uniqueRoom('scale');

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      mediaNodes: 2,
      signalingInstances: 2,
      signalingEnv: { SIGNALING_HEARTBEAT_MS: '300' },
    });
    ({ media, signaling, redis, pool } = h);
  });

  afterAll(async () => {
    for (const client of clients) {
      client.disconnect();
    }
    await h?.close();
  });

  /** A socket to a signaling port (or instance index) with a join token for `inRoom`. */
  async function connect(to: number | { port: number }, name: string, inRoom = room): Promise<Client> {
    const port = typeof to === 'number' ? signaling[to].port : to.port;
    await ensureRoom(pool, inRoom);
    const { token } = await signJoinToken(testGrants(inRoom, name), SECRET, 60);
    const client: Client = io(`http://127.0.0.1:${port}`, {
      auth: { token },
      transports: ['websocket'],
      reconnection: false,
    });
    clients.push(client);
    return client;
  }

  /** Emits a request and resolves with its ack (the caller states the shape it expects). */
  async function request(client: Client, event: string, payload: object): Promise<unknown> {
    return new Promise((resolve) =>
      (client.emit as (e: string, p: object, a: (r: unknown) => void) => void)(event, payload, resolve),
    );
  }

  async function joinRoom(client: Client) {
    const caps = (await request(client, 'getRouterRtpCapabilities', {})) as {
      ok: boolean;
      data: { rtpCapabilities: object };
    };
    return (await request(client, 'join', { rtpCapabilities: caps.data.rtpCapabilities })) as {
      ok: boolean;
      data: { peerId: string; peers: { displayName: string }[]; producers: { producerId: string }[] };
    };
  }

  it('relays joins, producers and departures between instances on one media node', async () => {
    const alice = await connect(0, 'Alice');
    const aliceJoin = await joinRoom(alice);
    expect(aliceJoin.ok).toBe(true);

    const bob = await connect(1, 'Bob');
    const bobJoined = new Promise<{ displayName: string }>((resolve) => alice.once('peerJoined', resolve));
    const bobJoin = await joinRoom(bob);
    expect(bobJoin.data.peers.map((p) => p.displayName)).toEqual(['Alice']);
    expect((await bobJoined).displayName).toBe('Bob');

    // Both instances use the node Redis recorded for the room; the other node has no such room.
    const nodeId = await redis.get(roomMediaKey(room));
    expect(media.map((m) => m.consulId)).toContain(nodeId);
    expect(media.map((m) => m.roomCount).sort()).toEqual([0, 1]);

    // Bob produces on instance B; Alice (instance A) hears of it and consumes it.
    const newProducer = new Promise<{ producerId: string; peerId: string }>((resolve) =>
      alice.once('newProducer', resolve),
    );
    const send = (await request(bob, 'createWebRtcTransport', { producing: true })) as {
      ok: boolean;
      data: { id: string };
    };
    const produced = (await request(bob, 'produce', {
      transportId: send.data.id,
      kind: 'video',
      rtpParameters: VP8,
    })) as { ok: boolean; data: { producerId: string } };
    expect(produced.ok).toBe(true);
    const announced = await newProducer;
    expect(announced).toMatchObject({ producerId: produced.data.producerId, peerId: bobJoin.data.peerId });
    const recv = (await request(alice, 'createWebRtcTransport', { producing: false })) as {
      data: { id: string };
    };
    const consumed = (await request(alice, 'consume', {
      transportId: recv.data.id,
      producerId: announced.producerId,
    })) as {
      ok: boolean;
      data: { kind: string; peerId: string };
    };
    expect(consumed).toMatchObject({ ok: true, data: { kind: 'video', peerId: bobJoin.data.peerId } });

    // Bob's instance goes away with him: Alice hears producerClosed and peerLeft through Redis.
    const producerClosed = new Promise<{ producerId: string }>((resolve) =>
      alice.once('producerClosed', resolve),
    );
    const left = new Promise<{ peerId: string }>((resolve) => alice.once('peerLeft', resolve));
    bob.disconnect();
    expect((await producerClosed).producerId).toBe(produced.data.producerId);
    expect((await left).peerId).toBe(bobJoin.data.peerId);
  });

  it('puts a new room on the media node with fewer rooms', async () => {
    const busyNode = await redis.get(roomMediaKey(room));
    // Leftovers in the other node's set (rooms no longer mapped to it) must not count as load.
    const idleNode = media.map((m) => m.consulId).find((id) => id !== busyNode)!;
    await redis.sadd(nodeRoomsKey(idleNode), uniqueRoom('gone'), uniqueRoom('gone'), uniqueRoom('gone'));
    const otherRoom = uniqueRoom('scale-b');
    const carol = await connect(1, 'Carol', otherRoom);
    expect((await joinRoom(carol)).ok).toBe(true);
    const otherNode = await redis.get(roomMediaKey(otherRoom));
    expect(otherNode).not.toBeNull();
    expect(otherNode).not.toBe(busyNode);
    expect(await redis.smembers(nodeRoomsKey(otherNode!))).toEqual([otherRoom]);
  });

  it('lets a peer that only asked for capabilities join after the last one left elsewhere', async () => {
    const raceRoom = uniqueRoom('race');
    const henry = await connect(1, 'Henry', raceRoom); // asks on instance B (no room opens), joins later
    const caps = (await request(henry, 'getRouterRtpCapabilities', {})) as {
      data: { rtpCapabilities: object };
    };
    const ivy = await connect(0, 'Ivy', raceRoom); // the only joined peer, on instance A, leaves
    await joinRoom(ivy);
    ivy.disconnect();
    await waitFor(async () => (await redis.hlen(`sb:room:${raceRoom}:peers`)) === 0, { what: 'Ivy gone' });
    // Nobody is in it and nobody is let in: the room closes on its node.
    await waitFor(async () => (await redis.get(roomMediaKey(raceRoom))) === null, { what: 'room released' });
    const joined = (await request(henry, 'join', { rtpCapabilities: caps.data.rtpCapabilities })) as {
      ok: boolean;
    };
    expect(joined.ok).toBe(true);
    expect(((await request(henry, 'createWebRtcTransport', { producing: true })) as { ok: boolean }).ok).toBe(
      true,
    );
  });

  const spawnSignaling = (port: number, heartbeatMs = 300) =>
    h.spawnSignaling(port, { SIGNALING_HEARTBEAT_MS: String(heartbeatMs) });
  const passingSignaling = (port: number) => h.passingSignaling(port);

  /**
   * Gina joins `room` on an in-process instance, Frank on the process on `port`; resolves with
   * Frank (as Gina saw him join) and a promise of the next peerLeft Gina hears.
   */
  async function ginaAndFrank(room: string, port: number) {
    await passingSignaling(port);
    const gina = await connect(0, 'Gina', room);
    await joinRoom(gina);
    const frankJoined = new Promise<{ peerId: string }>((resolve) => gina.once('peerJoined', resolve));
    await joinRoom(await connect({ port }, 'Frank', room));
    const frank = await frankJoined;
    const left = new Promise<{ peerId: string; reason: string }>((resolve) => gina.once('peerLeft', resolve));
    return { frank, left };
  }

  it('takes the peers of a crashed signaling instance out of their rooms', async () => {
    const ghostRoom = uniqueRoom('ghost');
    const port = await freePort();
    const crashing = spawnSignaling(port);
    try {
      const { frank, left } = await ginaAndFrank(ghostRoom, port);
      crashing.kill('SIGKILL'); // no goodbye: its heartbeat just stops
      // Shown as a dropped connection (he will be back through another instance), not as leaving.
      expect(await left).toEqual({ peerId: frank.peerId, reason: 'disconnected' });
      const remaining = Object.values(await redis.hgetall(`sb:room:${ghostRoom}:peers`)).map(
        (v) => JSON.parse(v).displayName,
      );
      expect(remaining).toEqual(['Gina']);
    } finally {
      crashing.kill('SIGKILL');
    }
  }, 60_000);

  it('removes the peers of a crashed instance even when it is restarted at once on the same port', async () => {
    const ghostRoom = uniqueRoom('restart');
    const port = await freePort();
    // A heartbeat long enough that the restart comes back well before the crashed process's
    // presence expires (3 beats): the case where the new process must not adopt its peers.
    const first = spawnSignaling(port, 3000);
    let second: ReturnType<typeof spawnSignaling> | undefined;
    try {
      const { frank, left } = await ginaAndFrank(ghostRoom, port);
      // What npm start's supervisor does after a crash: the same command, host and port, at once.
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      second = spawnSignaling(port, 3000);
      // Removed once the crashed process's presence expires (3 beats of 3 s), not adopted.
      const removed = await Promise.race([
        left,
        new Promise<undefined>((resolve) => setTimeout(resolve, 30_000, undefined)),
      ]);
      expect(removed?.peerId, 'the crashed peer left the room for the others').toBe(frank.peerId);
      await waitFor(async () => (await redis.hlen(`sb:room:${ghostRoom}:peers`)) === 1, {
        what: 'only Gina left in presence',
      });
      // The restarted process serves the room again.
      await passingSignaling(port);
      const frankAgain = await connect({ port }, 'Frank', ghostRoom);
      expect((await joinRoom(frankAgain)).ok).toBe(true);
    } finally {
      first.kill('SIGKILL');
      second?.kill('SIGKILL');
    }
  }, 60_000);
});
