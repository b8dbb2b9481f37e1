/**
 * Integration: socket.io clients → real SignalingServer → real gRPC → real MediaNode (mediasoup
 * worker), with real Consul discovery, Redis presence and Postgres sessions.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJoinToken } from '@switchboard/auth';
import type { Pool } from '@switchboard/db';
import { createLogger } from '@switchboard/logger';
import type { ClientToServerEvents, ServerToClientEvents } from '@switchboard/protocol';
import { ensureRoom, testGrants, uniqueRoom, waitFor } from '@switchboard/testing';
import type { MediaNode } from '../../media/src/MediaNode';
import type { SignalingServer } from '../src/SignalingServer';
import { startHarness, type Harness } from './harness';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const SECRET = 'integration-test-secret-0123456789';

describe('SignalingServer (real media node, Consul, Redis, Postgres)', () => {
  let h: Harness;
  let media: MediaNode;
  let signaling: SignalingServer;
  let pool: Pool;
  let redis: Redis;
  const logDir = mkdtempSync(join(tmpdir(), 'sb-logs-'));
  const room = uniqueRoom('sig');
  const clients: Client[] = [];
  const mediaRoot = createLogger({
    service: 'media',
    level: 'debug',
    dir: logDir,
    stdout: false,
    instance: 'test',
  });

  async function connect(name: string, token?: string, inRoom = room): Promise<Client> {
    await ensureRoom(pool, inRoom);
    const auth = { token: token ?? (await signJoinToken(testGrants(inRoom, name), SECRET, 60)).token };
    const client: Client = io(`http://127.0.0.1:${signaling.port}`, {
      auth,
      transports: ['websocket'],
      reconnection: false,
    });
    clients.push(client);
    return client;
  }

  function request<E extends keyof ClientToServerEvents>(
    client: Client,
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0]> {
    return new Promise((resolve) => {
      (client.emit as (e: string, p: unknown, ack: (r: unknown) => void) => void)(event, payload, (r) =>
        resolve(r as Parameters<Parameters<ClientToServerEvents[E]>[1]>[0]),
      );
    });
  }

  beforeAll(async () => {
    h = await startHarness({
      secret: SECRET,
      mediaLogger: mediaRoot.logger,
      signalingLogger: createLogger({ service: 'signaling', level: 'warn' }).logger,
    });
    ({ pool, redis } = h);
    [media] = h.media;
    [signaling] = h.signaling;
  });

  afterAll(async () => {
    for (const client of clients) {
      client.disconnect();
    }
    await h?.close();
  });

  it('answers /healthz with its dependencies and serves /metrics on the socket.io port', async () => {
    const health = await fetch(`http://127.0.0.1:${signaling.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', redis: 'ready', draining: false });
    const metrics = await (await fetch(`http://127.0.0.1:${signaling.port}/metrics`)).text();
    expect(metrics).toContain('switchboard_signaling_sockets');
  });

  it('refuses a socket without a token, with a forged one and with an expired one', async () => {
    const reasons: string[] = [];
    const forged = (await signJoinToken(testGrants(room, 'x'), 'another-secret-0123456789', 60)).token;
    const expired = (await signJoinToken(testGrants(room, 'x'), SECRET, -10)).token;
    for (const token of ['', 'not-a-jwt', forged, expired]) {
      const client = await connect('x', token);
      reasons.push(
        await new Promise<string>((resolve) => client.on('connect_error', (error) => resolve(error.message))),
      );
    }
    expect(reasons).toEqual([
      'a join token is required',
      'join token is invalid',
      'join token is invalid',
      'join token expired',
    ]);
  });

  it('joins two peers, relays peerJoined, creates transports and keeps presence and sessions', async () => {
    const alice = await connect('Alice');
    const caps = await request(alice, 'getRouterRtpCapabilities', {});
    expect(caps.ok).toBe(true);
    const rtpCapabilities = caps.ok ? caps.data.rtpCapabilities : {};
    const aliceJoin = await request(alice, 'join', { rtpCapabilities, correlationId: 'corr-alice-join' });
    expect(aliceJoin).toMatchObject({ ok: true, data: { roomId: room, displayName: 'Alice', peers: [] } });

    const bob = await connect('Bob');
    const joined = new Promise<{ displayName: string }>((resolve) => alice.once('peerJoined', resolve));
    await request(bob, 'getRouterRtpCapabilities', {});
    const bobJoin = await request(bob, 'join', { rtpCapabilities });
    expect(
      bobJoin.ok && bobJoin.data.status === 'joined' && bobJoin.data.peers.map((p) => p.displayName),
    ).toEqual(['Alice']);
    expect((await joined).displayName).toBe('Bob');
    // Once checked, the join token (a bearer credential) is not kept with the connection.
    const held = await signaling.io.local.fetchSockets();
    expect(held).toHaveLength(2);
    expect(held.map((socket) => socket.handshake.auth)).toEqual([{}, {}]);

    const transport = await request(bob, 'createWebRtcTransport', {
      producing: true,
      correlationId: 'corr-bob-transport',
    });
    expect(transport.ok && transport.data.iceCandidates.length).toBeGreaterThan(0);

    const peers = await redis.hgetall(`sb:room:${room}:peers`);
    expect(
      Object.values(peers)
        .map((v) => JSON.parse(v).displayName)
        .sort(),
    ).toEqual(['Alice', 'Bob']);
    const { rows } = await pool.query(
      'SELECT display_name FROM participant_sessions WHERE room_id = $1 ORDER BY joined_at',
      [room],
    );
    expect(rows.map((r) => r.display_name)).toEqual(['Alice', 'Bob']);

    // Bob leaves: Alice hears it, presence and the session row follow.
    const left = new Promise<{ peerId: string }>((resolve) => alice.once('peerLeft', resolve));
    bob.disconnect();
    expect((await left).peerId).toBe(bobJoin.ok ? bobJoin.data.peerId : '');
    await waitFor(async () => (await redis.hlen(`sb:room:${room}:peers`)) === 1, {
      what: 'presence updated',
    });
    await waitFor(
      async () =>
        (
          await pool.query(
            'SELECT 1 FROM participant_sessions WHERE display_name = $1 AND room_id = $2 AND left_at IS NOT NULL',
            ['Bob', room],
          )
        ).rowCount === 1,
      { what: 'session row closed' },
    );
  });

  it('answers bad payloads and foreign ids with clear errors, never a crash', async () => {
    const carol = await connect('Carol');
    const early = await request(carol, 'createWebRtcTransport', { producing: true });
    expect(early).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION', message: 'join the room first' },
    });
    await request(carol, 'getRouterRtpCapabilities', {});
    const bad = await request(carol, 'join', { rtpCapabilities: { codecs: 'nope' } } as never);
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(!bad.ok && bad.error.message).toContain('rtpCapabilities.codecs');
    await request(carol, 'join', { rtpCapabilities: {} });
    const foreign = await request(carol, 'connectWebRtcTransport', {
      transportId: 'someone-elses',
      dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] },
    });
    expect(foreign).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'transport someone-elses is not one of yours' },
    });
    for (let i = 0; i < 4; i++) {
      expect((await request(carol, 'createWebRtcTransport', { producing: false })).ok).toBe(true);
    }
    expect(await request(carol, 'createWebRtcTransport', { producing: false })).toMatchObject({
      ok: false,
      error: { code: 'RESOURCE_EXHAUSTED', message: 'a peer may hold at most 4 transports' },
    });
    const consume = await request(carol, 'consume', { transportId: 'x', producerId: 'missing' });
    expect(consume).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(!consume.ok && consume.error.correlationId).toMatch(/.+/);
  });

  it('restarts ICE on your own transport through the media node, and only on yours', async () => {
    const early = await connect('Early');
    expect(await request(early, 'restartIce', { transportId: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION' },
    });
    const dave = await connect('Dave');
    const caps = await request(dave, 'getRouterRtpCapabilities', {});
    await request(dave, 'join', { rtpCapabilities: caps.ok ? caps.data.rtpCapabilities : {} });
    const created = await request(dave, 'createWebRtcTransport', { producing: false });
    if (!created.ok) {
      throw new Error(created.error.message);
    }
    const restarted = await request(dave, 'restartIce', { transportId: created.data.id });
    expect(restarted.ok).toBe(true);
    const ice = restarted.ok ? restarted.data.iceParameters : undefined;
    expect(ice?.usernameFragment).toMatch(/.+/);
    expect(ice?.usernameFragment).not.toBe(created.data.iceParameters.usernameFragment);
    expect(await request(dave, 'restartIce', { transportId: 'someone-elses' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'transport someone-elses is not one of yours' },
    });
  });

  it('answers every event with a clear error for any malformed payload, and keeps serving', async () => {
    const fuzz = await connect('Fuzz');
    const caps = await request(fuzz, 'getRouterRtpCapabilities', {});
    expect(
      (await request(fuzz, 'join', { rtpCapabilities: caps.ok ? caps.data.rtpCapabilities : {} })).ok,
    ).toBe(true);
    // Joined, so payloads reach the media handlers; 'join' and 'leave' last.
    const events = [
      'getRouterRtpCapabilities',
      'createWebRtcTransport',
      'connectWebRtcTransport',
      'restartIce',
      'produce',
      'closeProducer',
      'pauseProducer',
      'resumeProducer',
      'consume',
      'resumeConsumer',
      'join',
      'leave',
    ];
    const payloads: unknown[] = [
      null,
      42,
      'text',
      [],
      { correlationId: 7 },
      { transportId: 5, producerId: {}, consumerId: [] },
      { rtpCapabilities: { codecs: [{ kind: 'smell', mimeType: 1 }] } },
      { producing: 'yes' },
      { dtlsParameters: { fingerprints: [] }, transportId: 'x' },
      { kind: 'video', rtpParameters: { codecs: [] }, transportId: 'x' },
      { nested: { deeper: { deepest: 'x'.repeat(10_000) } } },
    ];
    const codes = new Set<string>();
    for (const event of events) {
      for (const payload of payloads) {
        const answer = (await request(fuzz, event as 'join', payload as never)) as {
          ok: boolean;
          error?: { code: string; message: string };
        };
        if (!answer.ok) {
          codes.add(answer.error!.code);
          expect(
            answer.error!.message.length,
            `${event} ${JSON.stringify(payload).slice(0, 80)}`,
          ).toBeGreaterThan(5);
          expect(answer.error!.message).not.toMatch(/\bat .*\.ts:\d+/); // no stack traces
        }
      }
    }
    expect(
      [...codes].every((c) => ['INVALID_ARGUMENT', 'FAILED_PRECONDITION', 'NOT_FOUND'].includes(c)),
    ).toBe(true);
    // Events without an acknowledgement and unknown events are ignored, not fatal.
    (fuzz.emit as (e: string, p: unknown) => void)('join', { rtpCapabilities: {} });
    (fuzz.emit as (e: string, p: unknown) => void)('noSuchEvent', {});
    const still = await request(fuzz, 'getRouterRtpCapabilities', {});
    expect(still.ok).toBe(true);
  });

  it('opens no room on a media node for a socket that only asks for capabilities', async () => {
    const before = media.roomIds;
    const visitors = await Promise.all(
      Array.from({ length: 5 }, (_, i) => connect(`Visitor ${i}`, undefined, uniqueRoom('idle'))),
    );
    for (const visitor of visitors) {
      const caps = await request(visitor, 'getRouterRtpCapabilities', {});
      expect(caps).toMatchObject({ ok: true, data: { rtpCapabilities: { codecs: expect.any(Array) } } });
    }
    expect(media.roomIds).toEqual(before);
    for (const visitor of visitors) {
      visitor.disconnect();
    }
  });

  it('carries the browser correlation id through gRPC metadata into the media node logs', async () => {
    await mediaRoot.flush();
    const file = readdirSync(logDir).find((f) => f.startsWith('media-'));
    const lines = readFileSync(join(logDir, file ?? ''), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const entry = lines.find((l) => l.correlationId === 'corr-bob-transport');
    expect(entry).toMatchObject({ service: 'media', roomId: room, rpc: 'CreateWebRtcTransport' });
    // The request's line names the RPC and its duration: a row in the log viewer reads as what happened.
    const done = lines.filter((l) => l.correlationId === 'corr-bob-transport' && l.ms !== undefined);
    expect(done.map((l) => l.msg)).toEqual([expect.stringMatching(/^CreateWebRtcTransport ok \d+\.\d ms$/)]);
    expect(entry?.peerId).toMatch(/.+/);
    // A request without a peer field still names its peer: signaling sends x-peer-id (the room
    // opens on the node when its first peer joins).
    const caps = lines.find((l) => l.correlationId === 'corr-alice-join');
    expect(caps).toMatchObject({ service: 'media', roomId: room, rpc: 'GetRouterRtpCapabilities' });
    expect(caps?.peerId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ends the call for its peers when the media worker dies, and the node serves the rejoin', async () => {
    const dave = await connect('Dave');
    const caps = await request(dave, 'getRouterRtpCapabilities', {});
    await request(dave, 'join', { rtpCapabilities: caps.ok ? caps.data.rtpCapabilities : {} });
    const ended = new Promise<{ reason: string }>((resolve) => dave.once('callEnded', resolve));
    const disconnected = new Promise<string>((resolve) => dave.once('disconnect', resolve));
    const [pid] = media.workerPids;
    process.kill(pid, 'SIGKILL');
    expect((await ended).reason).toMatch(/lost this call/);
    expect(await disconnected).toBe('io server disconnect');

    // The node replaced its worker and keeps serving: a rejoin gets a fresh router.
    await waitFor(() => media.workerPids.length === 1 && media.workerPids[0] !== pid, {
      what: 'replacement worker',
    });
    const erin = await connect('Erin');
    const again = await request(erin, 'getRouterRtpCapabilities', {});
    expect(again.ok).toBe(true);
    const joined = await request(erin, 'join', {
      rtpCapabilities: again.ok ? again.data.rtpCapabilities : {},
    });
    expect(joined.ok).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${media.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_media_worker_deaths_total\{service="media"\} 1/);
  });
});
