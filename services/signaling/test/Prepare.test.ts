/**
 * A receiving transport brought up before joining (`prepare`), with real WebRTC (libwebrtc for
 * Node under mediasoup-client) against a real media node: it connects (ICE, DTLS, SCTP) while the
 * peer is not in the room, the join answer hands it back with consumers of everything there, and
 * media flows on it. Refused where the join would not let the peer straight in; given back when
 * the connection goes before joining, and replaced when its node went before the join.
 */
import { Device, type types } from 'mediasoup-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JoinResult, PeerStats, PreparedTransport } from '@switchboard/protocol';
import { ensureRoom, uniqueRoom, waitFor } from '@switchboard/testing';
import { installWebRtcGlobals } from '@switchboard/testing/webrtc';
import { roomMediaKey } from '../src/MediaDirectory';
import { data, joined, request, TestClients, type Client } from './clients';
import { startHarness, type Harness } from './harness';
import { RtcPeer } from './rtcPeer';

const SECRET = 'prepare-test-secret-0123456789abcdef';

/** Joins with the router's capabilities, asking for the transports in the answer. */
async function joinWithTransports(client: Client): Promise<JoinResult> {
  const { rtpCapabilities } = data<{ rtpCapabilities: object }>(
    await request(client, 'getRouterRtpCapabilities', {}),
  );
  return data<JoinResult>(await request(client, 'join', { rtpCapabilities, transports: true }));
}

describe('a receiving transport prepared before joining', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);
  const room = uniqueRoom('prepare');
  let sender: RtcPeer;

  const connect = async (name: string, target = room, extra = {}): Promise<Client> =>
    clients.connect(h.signaling[0].port, await clients.token(target, name, extra));

  /** A device loaded with the router's capabilities, as the meeting page has during the preview. */
  const loadedDevice = async (client: Client): Promise<Device> => {
    installWebRtcGlobals();
    const device = new Device({ handlerName: 'Chrome111' });
    const { rtpCapabilities } = data<{ rtpCapabilities: types.RtpCapabilities }>(
      await request(client, 'getRouterRtpCapabilities', {}),
    );
    await device.load({ routerRtpCapabilities: rtpCapabilities });
    return device;
  };

  /** `prepare`, then the browser's side: the transport and its data consumer (which connects it). */
  const prepared = async (client: Client, device: Device): Promise<types.Transport> => {
    const info = data<PreparedTransport>(await request(client, 'prepare', {}));
    const transport = device.createRecvTransport({
      id: info.id,
      iceParameters: info.iceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
      sctpParameters: info.sctpParameters,
    });
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      request(client, 'connectWebRtcTransport', { transportId: transport.id, dtlsParameters })
        .then((answer) => (answer.ok ? callback() : errback(new Error(answer.error.message))))
        .catch(errback);
    });
    await transport.consumeData({
      id: info.dataConsumer.id,
      dataProducerId: info.dataConsumer.dataProducerId,
      sctpStreamParameters: { streamId: info.dataConsumer.streamId, ordered: true },
      label: info.dataConsumer.label,
    });
    return transport;
  };

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET });
    await ensureRoom(h.pool, room);
    sender = await RtcPeer.join(await connect('Sender'), { camera: { width: 320, height: 180 } });
  });

  afterAll(async () => {
    sender?.close();
    clients.closeAll();
    await h?.close();
  });

  it('connects before the join, then carries the consumers the join answer makes on it', async () => {
    const client = await connect('Early');
    const device = await loadedDevice(client);
    const recv = await prepared(client, device);
    await waitFor(async () => recv.connectionState === 'connected', {
      timeoutMs: 10_000,
      what: 'the prepared transport connected before joining',
    });
    // Not in the room yet: the others were told nothing, and only `join` lets it in.
    expect(await request(client, 'resumeConsumers', { consumerIds: ['x'] })).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION' },
    });
    expect(await request(client, 'prepare', {})).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION', message: 'already prepared' },
    });
    const answer = data<JoinResult>(
      await request(client, 'join', { rtpCapabilities: device.rtpCapabilities, transports: true }),
    );
    expect(answer.transports?.recv?.id, 'the join answer hands back the prepared transport').toBe(recv.id);
    const consumers = answer.transports?.recv?.consumers ?? [];
    expect(consumers.map((c) => [c.peerId, c.kind]).sort()).toEqual(
      [
        [sender.peerId, 'audio'],
        [sender.peerId, 'video'],
      ].sort(),
    );
    await Promise.all(
      consumers.map((info) =>
        recv.consume({
          id: info.consumerId,
          producerId: info.producerId,
          kind: info.kind,
          rtpParameters: info.rtpParameters as types.RtpParameters,
        }),
      ),
    );
    data(await request(client, 'resumeConsumers', { consumerIds: consumers.map((c) => c.consumerId) }));
    await waitFor(
      async () => {
        const stats = data<PeerStats>(await request(client, 'getStats', {}));
        return stats.consumers.length === 2 && stats.consumers.every((c) => (c.stream?.packetCount ?? 0) > 0);
      },
      { timeoutMs: 10_000, what: 'the sender’s audio and video flowing on the prepared transport' },
    );
    recv.close();
  });

  it('gives the room back when the connection goes before joining', async () => {
    // Alone in a room of its own: preparing opens it on the node, leaving before the join closes it.
    const own = await ensureRoom(h.pool, uniqueRoom('prepare-own'));
    const client = await connect('Leaver', own);
    await prepared(client, await loadedDevice(client));
    expect(h.media[0].roomIds).toContain(own);
    client.disconnect();
    await waitFor(async () => !h.media[0].roomIds.includes(own), {
      timeoutMs: 10_000,
      what: 'the room (and the prepared transport in it) closed on the media node',
    });
  });

  it('refuses where the join would not let the peer straight in, and a transport not prepared', async () => {
    const viewer = await connect('Viewer', room, { canSubscribe: false });
    expect(await request(viewer, 'prepare', {})).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
    const lobbyRoom = await ensureRoom(h.pool, uniqueRoom('prepare-lobby'), 'lobby');
    const guest = await connect('Guest', lobbyRoom);
    expect(await request(guest, 'prepare', {})).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION', message: expect.stringContaining('lobby') },
    });
    const lockedRoom = await ensureRoom(h.pool, uniqueRoom('prepare-locked'), 'locked');
    const locked = await connect('Locked', lockedRoom);
    expect(await request(locked, 'prepare', {})).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
    // Before joining, only the prepared transport connects.
    const other = await connect('Other');
    expect(
      await request(other, 'connectWebRtcTransport', {
        transportId: sender.peerId,
        dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] },
      }),
    ).toMatchObject({ ok: false, error: { code: 'FAILED_PRECONDITION' } });
    // Nothing was opened for any of them.
    expect(h.media[0].roomIds).not.toContain(lobbyRoom);
    expect(h.media[0].roomIds).not.toContain(lockedRoom);
  });
});

describe('a prepared transport whose media node went before the join', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET, mediaNodes: 2 });
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  it('is replaced by a new one on the node the room moved to', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('prepare-stale'));
    const client = await clients.connect(h.signaling[0].port, await clients.token(room, 'Early'));
    const stale = data<PreparedTransport>(await request(client, 'prepare', {}));
    const nodeId = (await h.redis.get(roomMediaKey(room)))!;
    const node = h.media.find((m) => m.consulId === nodeId)!;
    await h.drain(nodeId, 1);
    await waitFor(async () => node.roomCount === 0, {
      timeoutMs: 10_000,
      what: 'the drained node closed the room',
    });

    const answer = await joinWithTransports(client);
    expect(answer.status).toBe('joined');
    expect(answer.transports?.recv?.id, 'a new receiving transport').toBeDefined();
    expect(answer.transports?.recv?.id).not.toBe(stale.id);
    const other = h.media.find((m) => m !== node)!;
    expect(other.roomIds).toContain(room);
  });
});

describe('a prepared transport on a node that stopped taking newcomers before the join', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET, mediaNodes: 2 });
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  it('is left for a transport on the node a newcomer is placed on now', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('prepare-draining'));
    const host = await clients.connect(h.signaling[0].port, await clients.token(room, 'Ada'));
    await joined(host);
    const client = await clients.connect(h.signaling[0].port, await clients.token(room, 'Early'));
    const early = data<PreparedTransport>(await request(client, 'prepare', {}));
    const nodeId = (await h.redis.get(roomMediaKey(room)))!;
    const draining = h.media.find((m) => m.consulId === nodeId)!;
    const other = h.media.find((m) => m !== draining)!;
    // The call on the draining node goes on for a minute; newcomers go elsewhere from now on.
    await h.drain(nodeId, 60);

    const answer = await joinWithTransports(client);
    expect(answer.transports?.recv?.id, 'a receiving transport made now').toBeDefined();
    expect(answer.transports?.recv?.id).not.toBe(early.id);
    expect(other.roomIds, 'the room continues on the node that takes newcomers').toContain(room);
    expect(draining.roomIds, 'and goes on where it was').toContain(room);
  });
});
