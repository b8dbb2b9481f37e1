/**
 * One room across two real media nodes (found through a real Consul), with real RTP from
 * participants on libwebrtc and two signaling instances. Capacity is two consumers per worker
 * (one worker each), so once the room's home node is full the next participant lands on the
 * other node; producers are piped between the nodes and media flows both ways. Closing a
 * producer, a producer's connection dropping, a participant leaving and a node leaving all clean
 * up the piped copies, and losing the home node moves the room's home to the other node without
 * disturbing the people there. A node's part of a room closes once nobody is left on it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRoom, uniqueRoom, waitFor } from '@switchboard/testing';
import type { MediaNode } from '../../media/src/MediaNode';
import { roomMediaKey, roomNodesKey } from '../src/MediaDirectory';
import { Presence } from '../src/Presence';
import { data, record, request, TestClients } from './clients';
import { startHarness, type Harness } from './harness';
import { RtcParticipants, type RtcPeer } from './rtcPeer';

const SECRET = 'across-nodes-test-secret-0123456789';

describe('one room across two media nodes (pipe transports)', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);
  const room = uniqueRoom('across');
  let alice: RtcPeer;
  let bob: RtcPeer;
  let carol: RtcPeer;
  let dave: RtcPeer;
  let home: MediaNode;
  let other: MediaNode;

  /** A participant through signaling instance `instance`, joined with real media. */
  const participants = new RtcParticipants(clients);
  const participant = (name: string, instance: number) =>
    participants.join(h.signaling[instance].port, room, name);

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      mediaNodes: 2,
      signalingInstances: 2,
      mediaEnv: { MEDIA_MAX_CONSUMERS_PER_WORKER: '2' },
    });
    await ensureRoom(h.pool, room);
  });

  afterAll(async () => {
    participants.closeAll();
    clients.closeAll();
    await h?.close();
  });

  it("closes a node's part of a room once nobody there is left, and the pipes to it", async () => {
    const spill = uniqueRoom('spill');
    await ensureRoom(h.pool, spill);
    const join = (name: string) => participants.join(h.signaling[0].port, spill, name);
    const ann = await join('Ann');
    const ben = await join('Ben');
    await ben.consume({ producerId: ann.producers.video! });
    await ben.consume({ producerId: ann.producers.audio! });
    const x = h.media.find((m) => m.roomIds.includes(spill))!;
    const y = h.media.find((m) => m !== x)!;
    const cy = await join('Cy');
    expect(y.roomIds, 'Cy spilled to the other node').toContain(spill);
    await cy.consume({ producerId: ann.producers.video! });
    await cy.receiving(ann.producers.video!, "Ann's video reaching Cy across nodes");
    // Ben's two consumers and the pipe consumer sending Ann's video to the other node.
    expect(x.load().consumers).toBe(2 + 1);

    cy.close();
    await waitFor(() => !y.roomIds.includes(spill), {
      timeoutMs: 5000,
      what: "the other node's part closing",
    });
    await waitFor(() => x.load().consumers === 2, { timeoutMs: 5000, what: 'the pipes to it closing' });
    expect(await h.redis.smembers(roomNodesKey(spill))).toEqual([x.consulId]);
    // Ann and Ben go on; when they leave, the room closes on its home too.
    await ben.receiving(ann.producers.video!, "Ann's video still reaching Ben");
    ann.close();
    ben.close();
    await waitFor(() => h.media.every((m) => m.roomCount === 0), {
      timeoutMs: 5000,
      what: 'the room closing',
    });
  });

  it('the room continues on another node when its home is full, and media flows both ways', async () => {
    alice = await participant('Alice', 0);
    home = h.media.find((m) => m.roomIds.includes(room))!;
    other = h.media.find((m) => m !== home)!;
    expect(await h.redis.get(roomMediaKey(room))).toBe(home.consulId);

    // Bob and Dave join the home node (it has no consumers yet); Bob fills it: two consumers.
    bob = await participant('Bob', 1);
    dave = await participant('Dave', 1);
    await bob.consume({ producerId: alice.producers.video! });
    await bob.consume({ producerId: alice.producers.audio! });
    expect(home.load()).toMatchObject({ consumers: 2, accepting: false });
    expect(other.roomIds).not.toContain(room);

    // Carol, on the other signaling instance, lands on the other node.
    carol = await participant('Carol', 0);
    expect(other.roomIds).toContain(room);
    expect((await h.redis.smembers(roomNodesKey(room))).sort()).toEqual(
      [home.consulId, other.consulId].sort(),
    );
    expect(other.load().transports, "Carol's two transports are on the other node").toBe(2);
    expect(home.load().transports).toBe(6);

    // Home → other: Carol receives Alice's video and audio and Bob's audio, piped over.
    await carol.consume({ producerId: alice.producers.video! });
    await carol.consume({ producerId: alice.producers.audio! });
    await carol.consume({ producerId: bob.producers.audio! });
    await carol.consume({ producerId: dave.producers.audio! });
    await carol.receiving(alice.producers.video!, "Alice's video reaching Carol across nodes");
    await carol.receiving(alice.producers.audio!, "Alice's audio reaching Carol across nodes");
    // Other → home: Alice receives Carol's video, and Bob too (one pipe, two consumers).
    await alice.consume({ producerId: carol.producers.video! });
    await bob.consume({ producerId: carol.producers.video! });
    await alice.receiving(carol.producers.video!, "Carol's video reaching Alice across nodes");
    await bob.receiving(carol.producers.video!, "Carol's video reaching Bob across nodes");
  });

  it("the home node hears everyone: Carol's microphone is in the room's audio levels", async () => {
    const levels = record(alice.client, 'audioLevels');
    await waitFor(() => levels.some((e) => e.levels.some((l) => l.peerId === carol.peerId)), {
      timeoutMs: 10_000,
      what: "Carol's level in the audio levels Alice gets",
    });
  });

  it('closing a producer closes its piped copy and the consumers of it on the other node', async () => {
    const closed = record(carol.client, 'consumerClosed');
    const before = other.load().producers;
    data(await request(alice.client, 'closeProducer', { producerId: alice.producers.video! }));
    await waitFor(() => closed.some((c) => c.producerId === alice.producers.video), {
      timeoutMs: 5000,
      what: "Carol's consumer of Alice's video closing",
    });
    expect(other.load().producers).toBe(before - 1);
  });

  it("a producer whose connection drops closes its piped copy's consumers on the other node", async () => {
    const closed = record(carol.client, 'consumerClosed');
    const told = record(carol.client, 'producerClosed');
    const before = other.load().producers;
    dave.dropSending();
    await waitFor(() => closed.some((c) => c.producerId === dave.producers.audio), {
      timeoutMs: 5000,
      what: "Carol's consumer of Dave's audio closing",
    });
    await waitFor(() => other.load().producers === before - 1, {
      timeoutMs: 5000,
      what: "the copy of Dave's audio closing on the other node",
    });
    // The room is told, and the room's record forgets it (a late joiner is not offered it).
    await waitFor(() => told.some((c) => c.producerId === dave.producers.audio && c.peerId === dave.peerId), {
      timeoutMs: 5000,
      what: "producerClosed for Dave's audio",
    });
    await waitFor(async () => !(await new Presence(h.redis).producer(room, dave.producers.audio!)), {
      timeoutMs: 5000,
      what: "Dave's audio gone from the room's producers in Redis",
    });
  });

  it('a participant leaving closes the copies of its producers on the other node', async () => {
    const closed = record(carol.client, 'consumerClosed');
    const before = other.load().producers;
    bob.close();
    await waitFor(() => closed.some((c) => c.producerId === bob.producers.audio), {
      timeoutMs: 5000,
      what: "Carol's consumer of Bob's audio closing",
    });
    await waitFor(() => other.load().producers === before - 1, {
      timeoutMs: 5000,
      what: "the copy of Bob's audio closing on the other node",
    });
  });

  it('losing the home node: its participants are told to rejoin, the room goes on at the other node', async () => {
    const aliceEnded = record(alice.client, 'callEnded');
    const carolEnded = record(carol.client, 'callEnded');
    const carolClosed = record(carol.client, 'consumerClosed');
    // Carol has her own two producers and the copy of Alice's audio.
    expect(other.load().producers).toBe(3);
    await home.drain(0);
    await waitFor(() => aliceEnded.length === 1, { timeoutMs: 5000, what: 'Alice told to rejoin' });
    await waitFor(() => carolClosed.some((c) => c.producerId === alice.producers.audio), {
      timeoutMs: 5000,
      what: "Carol's consumer of Alice's audio closing with the pipe",
    });
    expect(other.load().producers, 'what was piped from the lost node is gone').toBe(2);
    await waitFor(async () => (await h.redis.get(roomMediaKey(room))) === other.consulId, {
      timeoutMs: 5000,
      what: "the room's home moving to the other node",
    });
    // Carol noticed nothing else: still in the call, her media still measured.
    expect(carolEnded).toEqual([]);
    expect(carol.client.connected).toBe(true);
    const own = await carol.stats();
    expect(own.producers.map((p) => p.kind).sort()).toEqual(['audio', 'video']);
  });
});
