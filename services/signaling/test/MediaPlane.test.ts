/**
 * The media plane with real RTP: participants with libwebrtc (no browser) send a 720p simulcast
 * camera and a microphone tone through signaling to a real media node. Simulcast layers follow
 * the tile a receiver reports, hidden tiles pause, the audio observers' events reach the room, and
 * the stats request returns what the SFU measures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioLevel, JoinResult, PeerStats } from '@switchboard/protocol';
import { ensureRoom, uniqueRoom, waitFor } from '@switchboard/testing';
import { data, joined, next, request, TestClients, VP8, type Client } from './clients';
import { startHarness, type Harness } from './harness';
import { RtcPeer } from './rtcPeer';

const SECRET = 'media-plane-test-secret-0123456789';

describe('media plane (real WebRTC peers, a real media node)', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);
  const peers: RtcPeer[] = [];
  const room = uniqueRoom('media');
  let sender: RtcPeer;
  let receiver: RtcPeer;

  const connect = async (name: string): Promise<Client> =>
    clients.connect(h.signaling[0].port, await clients.token(room, name));

  const stats = async (peer: RtcPeer): Promise<PeerStats> =>
    data<PeerStats>(await request(peer.client, 'getStats', {}));

  /** The receiver's consumer of the sender's video, as the SFU reports it. */
  const videoConsumer = async () => {
    const consumer = (await stats(receiver)).consumers.find((c) => c.kind === 'video');
    expect(consumer, 'the receiver has a video consumer').toBeDefined();
    return consumer!;
  };

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET });
    await ensureRoom(h.pool, room);
    sender = await RtcPeer.join(await connect('Sender'));
    peers.push(sender);
    receiver = await RtcPeer.join(await connect('Receiver'), { camera: false, microphone: false });
    peers.push(receiver);
  });

  afterAll(async () => {
    for (const peer of peers) {
      peer.close();
    }
    clients.closeAll();
    await h?.close();
  });

  it('a 720p camera is a simulcast producer with three encodings, all measured by the SFU', async () => {
    const producer = await waitFor(
      async () => {
        const found = (await stats(sender)).producers.find((p) => p.kind === 'video');
        return found && found.streams.length === 3 ? found : undefined;
      },
      { timeoutMs: 20_000, what: 'three encodings arriving' },
    );
    expect(producer.type).toBe('simulcast');
    expect(producer.streams.map((s) => s.rid).sort()).toEqual(['r0', 'r1', 'r2']);
    for (const stream of producer.streams) {
      expect(stream.byteCount, `bytes of ${stream.rid}`).toBeGreaterThan(0);
      expect(stream.bitrate, `bitrate of ${stream.rid}`).toBeGreaterThan(0);
      expect(stream.score, `score of ${stream.rid}`).toBeGreaterThan(0);
    }
    const transport = (await stats(sender)).transports.find((t) => t.producing);
    expect(transport).toMatchObject({
      iceState: expect.stringMatching(/connected|completed/),
      dtlsState: 'connected',
    });
    expect(transport!.bytesReceived).toBeGreaterThan(0);
  });

  it('the layer a receiver gets follows the height of its tile; a hidden tile pauses', async () => {
    const consumer = await receiver.consume({ producerId: sender.producers.video! });
    const view = (visible: boolean, height: number) =>
      request(receiver.client, 'consumerView', { consumerId: consumer.id, visible, height }).then(data);

    await view(true, 1080);
    const large = await waitFor(
      async () => {
        const c = await videoConsumer();
        return c.currentSpatialLayer === 2 ? c : undefined;
      },
      { timeoutMs: 30_000, what: 'the top layer forwarded to a large tile' },
    );
    expect(large.preferredSpatialLayer).toBe(2);
    expect(large.stream!.bitrate).toBeGreaterThan(0);

    await view(true, 180);
    const small = await waitFor(
      async () => {
        const c = await videoConsumer();
        return c.currentSpatialLayer === 0 ? c : undefined;
      },
      { timeoutMs: 15_000, what: 'the lowest layer forwarded to a small tile' },
    );
    expect(small.preferredSpatialLayer).toBe(0);

    await view(false, 180);
    const hidden = await videoConsumer();
    expect(hidden.paused).toBe(true);
    const before = hidden.stream!.packetCount;
    await new Promise((r) => setTimeout(r, 1500));
    const after = await videoConsumer();
    expect(after.stream!.packetCount - before, 'packets sent to a hidden tile').toBeLessThan(5);

    await view(true, 400);
    const shown = await waitFor(
      async () => {
        const c = await videoConsumer();
        return !c.paused && c.stream!.packetCount > after.stream!.packetCount + 20 ? c : undefined;
      },
      { timeoutMs: 10_000, what: 'video flowing again once the tile shows' },
    );
    expect(shown.preferredSpatialLayer).toBe(1);
    expect(consumer.track.readyState).toBe('live');

    // A window resized: the tile reports its new height (visible) and, a moment later, that it left
    // the view. Sent back to back, the last view wins, whichever takes the media node longer (the
    // last round shows it again, for the tests after this one).
    for (let round = 0; round < 6; round++) {
      const last = round % 2 === 1;
      await Promise.all([view(true, 400), view(last, 400)]);
      expect(
        (await videoConsumer()).paused,
        `round ${round}: the last view was ${last ? 'shown' : 'hidden'}`,
      ).toBe(!last);
    }
    // Flowing again, scored, as the tests after this one expect.
    await waitFor(
      async () => {
        const c = await videoConsumer();
        return !c.paused && c.producerScore > 0 && c.score > 0 ? c : undefined;
      },
      { timeoutMs: 10_000, what: 'the consumer flowing and scored again after the last view' },
    );
  });

  it('tile views are checked: someone else’s consumer, a bad height', async () => {
    const stranger = await connect('Stranger');
    data(await request(stranger, 'getRouterRtpCapabilities', {}));
    const malformed = await request(receiver.client, 'consumerView', {
      consumerId: 'x',
      visible: true,
      height: -1,
    });
    expect(malformed).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    const unknown = await request(receiver.client, 'consumerView', {
      consumerId: 'not-mine',
      visible: true,
      height: 100,
    });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const notJoined = await request(stranger, 'getStats', {});
    expect(notJoined).toMatchObject({ ok: false, error: { code: 'FAILED_PRECONDITION' } });
  });

  it('audio levels and the active speaker reach everyone in the room', async () => {
    const listener = await connect('Listener');
    const levels: AudioLevel[][] = [];
    const speakers: string[] = [];
    listener.on('audioLevels', ({ levels: l }) => levels.push(l));
    listener.on('activeSpeaker', ({ peerId }) => speakers.push(peerId));
    const caps = data<{ rtpCapabilities: object }>(await request(listener, 'getRouterRtpCapabilities', {}));
    // The sender has been speaking since before the listener came: the join says so.
    const joinedAnswer = data<{ activeSpeaker?: string }>(await request(listener, 'join', caps));
    expect(joinedAnswer.activeSpeaker).toBe(sender.peerId);
    const heard = await waitFor(() => levels.flat().find((level) => level.peerId === sender.peerId), {
      timeoutMs: 10_000,
      what: "the sender's microphone level",
    });
    // The tone is at about -15 dBov; the observer's threshold is -60.
    expect(heard.volume).toBeGreaterThan(-40);
    expect(heard.volume).toBeLessThanOrEqual(0);
    expect(levels.flat().every((level) => level.peerId === sender.peerId)).toBe(true);
    // A second speaker who is louder takes over; the listener is told.
    const loud = await RtcPeer.join(await connect('Loud'), {
      camera: false,
      microphone: { amplitude: 30_000 },
    });
    peers.push(loud);
    await waitFor(() => speakers.includes(loud.peerId), { timeoutMs: 15_000, what: 'the new speaker named' });
    loud.close();
  });

  it('stats of a receiver count what it receives, with scores', async () => {
    const receiving = await waitFor(
      async () => {
        const c = await videoConsumer();
        // Both scores: the producer's read 0 here in loaded runs right after the views above.
        return c.stream && c.stream.packetCount > 0 && c.score > 0 && c.producerScore > 0 ? c : undefined;
      },
      { timeoutMs: 10_000, what: 'a scored, flowing consumer' },
    );
    expect(receiving.peerId).toBe(sender.peerId);
    expect(receiving.producerScore).toBeGreaterThan(0);
    expect(receiving.stream!.byteCount).toBeGreaterThan(0);
    const transport = (await stats(receiver)).transports.find((t) => !t.producing);
    expect(transport!.bytesSent).toBeGreaterThan(0);
  });

  it('a receiving transport can come with consumers of everything in the room, resumed at once', async () => {
    const late = await RtcPeer.join(await connect('Late'), {
      camera: false,
      microphone: false,
      consumeExisting: true,
    });
    peers.push(late);
    expect(late.existing.map((c) => [c.peerId, c.kind, c.source]).sort()).toEqual(
      [
        [sender.peerId, 'audio', 'microphone'],
        [sender.peerId, 'video', 'camera'],
      ].sort(),
    );
    const consumers = await late.receiveExisting();
    const flowing = await waitFor(
      async () => {
        const received = (await stats(late)).consumers;
        return received.length === 2 && received.every((c) => !c.paused && (c.stream?.packetCount ?? 0) > 0)
          ? received
          : undefined;
      },
      { timeoutMs: 10_000, what: 'both consumers resumed and receiving' },
    );
    expect(flowing.map((c) => c.consumerId).sort()).toEqual(consumers.map((c) => c.id).sort());
    // Only for the receiving transport, and only your own consumers.
    expect(
      await request(late.client, 'createWebRtcTransport', { producing: true, consumeExisting: true }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(
      await request(receiver.client, 'resumeConsumers', { consumerIds: [consumers[0].id] }),
    ).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    late.close();
  });

  it('the join answer can carry both transports, the receiving one with consumers of everything in the room', async () => {
    const quick = await RtcPeer.join(await connect('Quick'), { camera: false, joinTransports: true });
    peers.push(quick);
    expect(quick.producers.audio, 'it produced on the sending transport of its join answer').toBeDefined();
    expect(
      quick.existing
        .filter((c) => c.peerId === sender.peerId)
        .map((c) => [c.kind, c.source])
        .sort(),
    ).toEqual([
      ['audio', 'microphone'],
      ['video', 'camera'],
    ]);
    await quick.receiveExisting();
    await quick.receiving(sender.producers.video!, 'the sender’s video reaches the quick joiner');
    // Its microphone reaches the others through the transport its join answer carried.
    const heard = await receiver.consume({ producerId: quick.producers.audio! });
    await receiver.receiving(heard.producerId, 'the quick joiner’s microphone reaches the receiver');

    // Only what its token allows: a viewer's answer has no sending transport.
    const viewer = await clients.connect(
      h.signaling[0].port,
      await clients.token(room, 'Viewer', { canPublish: false }),
    );
    const answer = data<JoinResult>(
      await request(viewer, 'join', { rtpCapabilities: quick.rtpCapabilities, transports: true }),
    );
    expect(answer.transports?.send).toBeUndefined();
    expect(answer.transports?.recv?.consumers?.length).toBeGreaterThan(0);
    // A malformed flag is refused before anything happens.
    const other = await connect('Malformed');
    expect(
      await request(other, 'join', { rtpCapabilities: quick.rtpCapabilities, transports: 'yes' }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    quick.close();
  });

  it('screen shares: a second video producer with its source, one per room unless a host allows more', async () => {
    const shareRoom = await ensureRoom(h.pool, uniqueRoom('share'));
    const port = h.signaling[0].port;
    const member = async (name: string, role: 'host' | 'guest') => {
      const client = await clients.connect(port, await clients.token(shareRoom, name, { role }));
      await joined(client);
      const send = data<{ id: string }>(await request(client, 'createWebRtcTransport', { producing: true }));
      return { client, transportId: send.id };
    };
    const share = (who: { client: Client; transportId: string }, extra: object = {}) =>
      request(who.client, 'produce', {
        transportId: who.transportId,
        kind: 'video',
        rtpParameters: {
          ...VP8,
          mid: '2',
          encodings: [{ ssrc: 44444444 + Math.floor(Math.random() * 1e6) }],
        },
        source: 'screen',
        ...extra,
      });
    const host = await member('Host', 'host');
    const ada = await member('Ada', 'guest');
    const grace = await member('Grace', 'guest');

    const announced = next(host.client, 'newProducer');
    const first = data<{ producerId: string }>(await share(ada));
    expect(await announced).toMatchObject({ producerId: first.producerId, kind: 'video', source: 'screen' });
    // Ada's camera is still allowed beside her screen; a second screen of hers is not.
    expect(await share(ada)).toMatchObject({ ok: false, error: { code: 'FAILED_PRECONDITION' } });
    expect(await share(ada, { kind: 'audio', rtpParameters: VP8 })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });

    const refused = await share(grace);
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION', message: expect.stringContaining('Ada is already sharing') },
    });
    expect(await request(grace.client, 'setScreenSharing', { multiple: true })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
    const told = next(grace.client, 'screenSharingChanged');
    data(await request(host.client, 'setScreenSharing', { multiple: true }));
    expect(await told).toEqual({ multiple: true });
    data(await share(grace));

    // Back to one at a time: a new share waits until the others stopped.
    data(await request(host.client, 'setScreenSharing', { multiple: false }));
    data(await request(ada.client, 'closeProducer', { producerId: first.producerId }));
    expect(await share(ada)).toMatchObject({ ok: false, error: { code: 'FAILED_PRECONDITION' } });
    const late = await clients.connect(port, await clients.token(shareRoom, 'Late'));
    expect(await joined(late)).toMatchObject({ multipleScreenShares: false });
  });
});
