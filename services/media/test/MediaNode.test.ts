/**
 * Integration: a real MediaNode (real mediasoup worker) serving real gRPC on loopback, registered
 * in a real Consul agent started by the harness.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@switchboard/logger';
import {
  CORRELATION_ID_METADATA,
  decodingRepeats,
  MediaKind,
  MediaServiceClient,
  MediaServiceService,
  type GetRouterRtpCapabilitiesResponse,
} from '@switchboard/proto';
import { AUTHORIZATION_METADATA, signJoinToken, signServiceToken } from '@switchboard/auth';
import { mediaTestEnv, startConsul, TEST_SERVICE_SECRET, type ConsulAgent } from '@switchboard/testing';
import { readConfig } from '../src/config';
import { MediaNode } from '../src/MediaNode';

type AnyUnary = (...args: never[]) => unknown;

/**
 * Calls a unary method with a deadline, a correlation id and a service token, as signaling does
 * (`authorization: null` sends none).
 */
function call<Res = unknown>(
  client: MediaServiceClient,
  method: AnyUnary,
  request: object,
  authorization: string | null = `Bearer ${signServiceToken(TEST_SERVICE_SECRET, 'test')}`,
): Promise<Res> {
  const metadata = new grpc.Metadata();
  metadata.set(CORRELATION_ID_METADATA, 'test-correlation');
  if (authorization !== null) {
    metadata.set(AUTHORIZATION_METADATA, authorization);
  }
  return new Promise((resolve, reject) =>
    (method as unknown as (...args: unknown[]) => unknown).call(
      client,
      request,
      metadata,
      { deadline: Date.now() + 5000 },
      (error: grpc.ServiceError | null, response: Res) => (error ? reject(error) : resolve(response)),
    ),
  );
}

describe('MediaNode (real worker, real gRPC, real Consul)', () => {
  let consul: ConsulAgent;
  let node: MediaNode;
  let client: MediaServiceClient;

  beforeAll(async () => {
    consul = await startConsul();
    const config = readConfig(
      mediaTestEnv(consul.addr, {
        MEDIA_RTC_MIN_PORT: '31000',
        MEDIA_RTC_MAX_PORT: '31100',
        MEDIA_WEBRTC_SERVER: 'true',
      }),
    );
    node = await MediaNode.create(config, createLogger({ service: 'media', level: 'warn' }).logger);
    client = new MediaServiceClient(`127.0.0.1:${node.grpcPort}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await node?.close();
    await consul?.close();
  });

  it('refuses every MediaService call without valid service credentials, with UNAUTHENTICATED', async () => {
    const now = Math.floor(Date.now() / 1000);
    const joinGrants = {
      room: 'r',
      sub: 'guest:eve',
      name: 'Eve',
      role: 'host',
      canPublish: true,
      canSubscribe: true,
    } as const;
    const forged: [string, string | null][] = [
      ['no credentials', null],
      ['not a bearer token', 'Basic dXNlcjpwYXNz'],
      ['garbage', 'Bearer not-a-jwt'],
      ['signed with another secret', `Bearer ${signServiceToken('another-secret-0123456789abcdef', 'x')}`],
      [
        'expired',
        `Bearer ${signServiceToken(TEST_SERVICE_SECRET, 'x', { nowSeconds: now - 7200, ttlSeconds: 600 })}`,
      ],
      [
        'lives for a year',
        `Bearer ${signServiceToken(TEST_SERVICE_SECRET, 'x', { ttlSeconds: 31_536_000 })}`,
      ],
      [
        'issued in the future',
        `Bearer ${signServiceToken(TEST_SERVICE_SECRET, 'x', { nowSeconds: now + 7200, ttlSeconds: 600 })}`,
      ],
      [
        'for another audience',
        `Bearer ${signServiceToken(TEST_SERVICE_SECRET, 'x', { audience: 'switchboard-signaling' })}`,
      ],
      [
        'a join token signed with the same secret',
        `Bearer ${(await signJoinToken(joinGrants, TEST_SERVICE_SECRET, 600)).token}`,
      ],
    ];
    for (const [what, authorization] of forged) {
      await expect(
        call(client, client.drain, { deadlineSeconds: 1 }, authorization),
        what,
      ).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
      });
      await expect(
        call(client, client.getRouterRtpCapabilities, { roomId: 'forged-room' }, authorization),
        what,
      ).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    }
    // Nothing happened: the node still takes rooms and opened none.
    expect(node.load().accepting).toBe(true);
    expect(node.roomIds).not.toContain('forged-room');
    // The event stream is refused too.
    const stream = client.watchRoomEvents({ roomId: 'forged-room' }, new grpc.Metadata());
    const streamError = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    expect(streamError.code).toBe(grpc.status.UNAUTHENTICATED);
    // With a token, a room the node does not have ends the stream at once with NOT_FOUND.
    const authorized = new grpc.Metadata();
    authorized.set(AUTHORIZATION_METADATA, `Bearer ${signServiceToken(TEST_SERVICE_SECRET, 'test')}`);
    const unknown = client.watchRoomEvents({ roomId: 'no-such-room' }, authorized);
    const unknownError = await new Promise<grpc.ServiceError>((resolve) => unknown.on('error', resolve));
    expect(unknownError.code).toBe(grpc.status.NOT_FOUND);
    // The health service stays open to Consul's check, and a real token works.
    const health = new grpc.Client(`127.0.0.1:${node.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const status = await new Promise<number>((resolve, reject) =>
        health.makeUnaryRequest(
          '/grpc.health.v1.Health/Check',
          () => Buffer.alloc(0),
          (data: Buffer) => data,
          {},
          { deadline: Date.now() + 5000 },
          (error, response) => (error ? reject(error) : resolve(response![1]!)),
        ),
      );
      expect(status).toBe(1); // SERVING
    } finally {
      health.close();
    }
    await expect(call(client, client.getLoad, {})).resolves.toMatchObject({ accepting: true });
  });

  it('registers in Consul and its gRPC health check passes', async () => {
    const instances = await consul.passing('media');
    expect(instances[0].port).toBe(node.grpcPort);
    expect(instances[0].meta.metrics_port).toBe(String(node.metricsPort));
    expect(instances[0].checks.find((check) => check.name === 'media health')).toMatchObject({
      status: 'passing',
      output: expect.stringContaining('gRPC'),
    });
  });

  it('returns the router capabilities of a room with opus and VP8', async () => {
    const response = await call<GetRouterRtpCapabilitiesResponse>(client, client.getRouterRtpCapabilities, {
      roomId: 'standup',
    });
    const mimeTypes = response.rtpCapabilities?.codecs.map((codec) => codec.mimeType);
    expect(mimeTypes).toContain('audio/opus');
    expect(mimeTypes).toContain('video/VP8');
    expect(node.roomCount).toBe(1);
    // The node encodes a room's answer once (encodingOnce): asked again, the same answer, and a
    // client decoding only what changed (signaling's) gets the very same frozen value back.
    expect(
      await call<GetRouterRtpCapabilitiesResponse>(client, client.getRouterRtpCapabilities, {
        roomId: 'standup',
      }),
    ).toEqual(response);
    const Repeats = grpc.makeGenericClientConstructor(
      decodingRepeats(MediaServiceService, ['getRouterRtpCapabilities']),
      'switchboard.media.v1.MediaService',
    ) as unknown as typeof MediaServiceClient;
    const repeats = new Repeats(`127.0.0.1:${node.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const ask = () =>
        call<GetRouterRtpCapabilitiesResponse>(repeats, repeats.getRouterRtpCapabilities, {
          roomId: 'standup',
        });
      const first = await ask();
      expect(first).toEqual(response);
      expect(await ask()).toBe(first);
      expect(Object.isFrozen(first.rtpCapabilities?.codecs[0])).toBe(true);
    } finally {
      repeats.close();
    }
  });

  it('creates a WebRTC transport with ICE candidates in the configured port range', async () => {
    const transport = await call<{
      transportId: string;
      iceCandidates: { port: number; protocol: string }[];
    }>(client, client.createWebRtcTransport, { roomId: 'standup', peerId: 'peer-1', producing: true });
    expect(transport.transportId).toMatch(/.+/);
    expect(transport.iceCandidates.map((c) => c.protocol).sort()).toEqual(['tcp', 'udp']);
    // The worker's WebRTC server: the first port of the range, UDP and TCP.
    for (const candidate of transport.iceCandidates) {
      expect(candidate.port).toBe(31000);
    }
  });

  it('gives an SCTP transport a data consumer of its room’s own data producer, and refuses the rest', async () => {
    const sctp = await call<{ transportId: string; sctpParameters?: { port: number; os: number } }>(
      client,
      client.createWebRtcTransport,
      { roomId: 'standup', peerId: 'early', producing: false, sctp: true },
    );
    expect(sctp.sctpParameters).toMatchObject({ port: 5000, os: 1024 });
    const first = await call<{ dataConsumerId: string; dataProducerId: string; label: string }>(
      client,
      client.consumeRoomData,
      { roomId: 'standup', transportId: sctp.transportId },
    );
    expect(first).toMatchObject({ dataConsumerId: expect.any(String), label: 'room' });
    // One data producer per router: a second consumer consumes the same one.
    const other = await call<{ transportId: string }>(client, client.createWebRtcTransport, {
      roomId: 'standup',
      peerId: 'early-2',
      producing: false,
      sctp: true,
    });
    const second = await call<{ dataProducerId: string }>(client, client.consumeRoomData, {
      roomId: 'standup',
      transportId: other.transportId,
    });
    expect(second.dataProducerId).toBe(first.dataProducerId);
    // A transport made without SCTP, one that does not exist, and a caller without credentials.
    const plain = await call<{ transportId: string; sctpParameters?: unknown }>(
      client,
      client.createWebRtcTransport,
      { roomId: 'standup', peerId: 'plain', producing: false },
    );
    expect(plain.sctpParameters).toBeUndefined();
    await expect(
      call(client, client.consumeRoomData, { roomId: 'standup', transportId: plain.transportId }),
    ).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringContaining('SCTP'),
    });
    await expect(
      call(client, client.consumeRoomData, { roomId: 'standup', transportId: 'missing' }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(
      call(client, client.consumeRoomData, { roomId: 'standup', transportId: sctp.transportId }, null),
    ).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    for (const { transportId } of [sctp, other, plain]) {
      await call(client, client.closeWebRtcTransport, { roomId: 'standup', transportId });
    }
  });

  it('answers the RTP capabilities of its routers without opening a room', async () => {
    const rooms = node.roomCount;
    const response = await call<GetRouterRtpCapabilitiesResponse>(client, client.getRtpCapabilities, {});
    const room = await call<GetRouterRtpCapabilitiesResponse>(client, client.getRouterRtpCapabilities, {
      roomId: 'standup',
    });
    expect(response.rtpCapabilities).toEqual(room.rtpCapabilities);
    expect(node.roomCount).toBe(rooms);
  });

  it('shares one UDP and one TCP port per worker among all its WebRTC transports', async () => {
    // Five ports: one for the worker's WebRTC server, four for pipes. With a port per transport,
    // the fifth transport would already fail.
    const small = await MediaNode.create(
      readConfig(
        mediaTestEnv(consul.addr, {
          MEDIA_RTC_MIN_PORT: '31400',
          MEDIA_RTC_MAX_PORT: '31404',
          MEDIA_WEBRTC_SERVER: 'true',
        }),
      ),
      createLogger({ service: 'media', level: 'warn' }).logger,
    );
    const smallClient = new MediaServiceClient(
      `127.0.0.1:${small.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const sockets = () =>
      readdirSync(`/proc/${small.workerPids[0]}/fd`).filter((fd) => {
        try {
          return readlinkSync(`/proc/${small.workerPids[0]}/fd/${fd}`).startsWith('socket:');
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    try {
      const before = sockets();
      const ports = new Set<string>();
      for (const roomId of ['p1', 'p2', 'p3']) {
        await call(smallClient, smallClient.getRouterRtpCapabilities, { roomId });
        const transports = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            call<{ iceCandidates: { port: number; protocol: string }[] }>(
              smallClient,
              smallClient.createWebRtcTransport,
              { roomId, peerId: `peer-${i}`, producing: i % 2 === 0 },
            ),
          ),
        );
        for (const transport of transports) {
          for (const candidate of transport.iceCandidates) {
            ports.add(`${candidate.protocol}:${candidate.port}`);
          }
        }
      }
      expect([...ports].sort()).toEqual(['tcp:31400', 'udp:31400']);
      // Sixty transports opened no socket in the worker.
      expect(sockets()).toBe(before);
    } finally {
      smallClient.close();
      await small.close();
    }
  });

  it('restarts ICE on a transport with new ICE parameters, refusing unknown transports', async () => {
    type Ice = { usernameFragment: string; password: string };
    const transport = await call<{ transportId: string; iceParameters: Ice }>(
      client,
      client.createWebRtcTransport,
      { roomId: 'standup', peerId: 'peer-ice', producing: false },
    );
    const restarted = await call<{ iceParameters: Ice }>(client, client.restartIce, {
      roomId: 'standup',
      transportId: transport.transportId,
    });
    expect(restarted.iceParameters.usernameFragment).toMatch(/.+/);
    expect(restarted.iceParameters.usernameFragment).not.toBe(transport.iceParameters.usernameFragment);
    expect(restarted.iceParameters.password).not.toBe(transport.iceParameters.password);
    await expect(
      call(client, client.restartIce, { roomId: 'standup', transportId: 'missing' }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(
      call(client, client.restartIce, { roomId: 'standup', transportId: '' }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  it('reports a peer’s stats (a transport before any media: zeros) and checks consumer requests', async () => {
    const transport = await call<{ transportId: string }>(client, client.createWebRtcTransport, {
      roomId: 'standup',
      peerId: 'peer-stats',
      producing: true,
    });
    const stats = await call<{ transports: { transportId: string; producing: boolean; iceState: string }[] }>(
      client,
      client.getPeerStats,
      { roomId: 'standup', peerId: 'peer-stats' },
    );
    expect(stats.transports).toEqual([
      expect.objectContaining({ transportId: transport.transportId, producing: true, iceState: 'new' }),
    ]);
    await expect(
      call(client, client.getPeerStats, { roomId: 'nowhere', peerId: 'peer-stats' }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    for (const method of [client.pauseConsumer, client.resumeConsumer]) {
      await expect(call(client, method, { roomId: 'standup', consumerId: 'missing' })).rejects.toMatchObject({
        code: grpc.status.NOT_FOUND,
        details: expect.stringContaining('consumer missing'),
      });
    }
    await expect(
      call(client, client.setConsumerPreferredLayers, {
        roomId: 'standup',
        consumerId: 'missing',
        spatialLayer: 1,
      }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(
      call(client, client.setConsumerPreferredLayers, {
        roomId: 'standup',
        consumerId: 'c',
        spatialLayer: 12,
      }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('reports its load per worker over gRPC (GetLoad), with its capacity', async () => {
    const load = await call<{
      workers: { pid: number; routers: number; transports: number; cpu: number }[];
      rooms: number;
      transports: number;
      maxConsumers: number;
      accepting: boolean;
    }>(client, client.getLoad, {});
    expect(load.workers.map((w) => w.pid)).toEqual(node.workerPids);
    expect(load.rooms).toBe(node.roomCount);
    expect(load.rooms).toBeGreaterThan(0); // the rooms the tests above made
    expect(load.workers[0].routers).toBe(load.rooms);
    expect(load.workers[0].transports).toBe(load.transports);
    expect(load.transports).toBeGreaterThan(0);
    expect(load.workers[0].cpu).toBeGreaterThanOrEqual(0);
    expect(load).toMatchObject({ maxConsumers: 500, accepting: true });
  });

  it('refuses bad input with INVALID_ARGUMENT and unknown ids with NOT_FOUND', async () => {
    await expect(call(client, client.getRouterRtpCapabilities, { roomId: '' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'room_id is required',
    });
    await expect(
      call(client, client.produce, {
        roomId: 'standup',
        transportId: 'nope',
        kind: MediaKind.MEDIA_KIND_UNSPECIFIED,
        paused: false,
      }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(
      call(client, client.closeProducer, { roomId: 'standup', producerId: 'missing' }),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: expect.stringContaining('producer missing'),
    });
    await expect(
      call(client, client.createWebRtcTransport, { roomId: 'nowhere', peerId: 'p', producing: true }),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it('creates an encrypted pipe transport once per remote node and checks what connects it', async () => {
    await call(client, client.getRouterRtpCapabilities, { roomId: 'piped' });
    type Pipe = {
      transportId: string;
      ip: string;
      port: number;
      srtpParameters: { cryptoSuite: string; keyBase64: string };
    };
    const pipe = await call<Pipe>(client, client.createPipeTransport, {
      roomId: 'piped',
      remoteNode: 'node-b',
    });
    expect(pipe.ip).toBe('127.0.0.1');
    expect(pipe.port).toBeGreaterThanOrEqual(31000);
    expect(pipe.srtpParameters.cryptoSuite).toMatch(/AES/);
    expect(pipe.srtpParameters.keyBase64.length).toBeGreaterThan(20);
    // Asking again (another signaling instance racing) returns the same transport.
    expect(
      await call<Pipe>(client, client.createPipeTransport, { roomId: 'piped', remoteNode: 'node-b' }),
    ).toEqual(pipe);
    const connect = (request: object) =>
      call(client, client.connectPipeTransport, { roomId: 'piped', remoteNode: 'node-b', ...request });
    // What another node's end would answer (its own pipe towards this one).
    const { srtpParameters } = await call<Pipe>(client, client.createPipeTransport, {
      roomId: 'piped',
      remoteNode: 'node-x',
    });
    await expect(connect({ ip: 'not-an-ip', port: 5000, srtpParameters })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('ip must be'),
    });
    await expect(connect({ ip: '127.0.0.1', port: 5000 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('srtp_parameters'),
    });
    await connect({ ip: '127.0.0.1', port: 5000, srtpParameters });
    await connect({ ip: '127.0.0.1', port: 5000, srtpParameters }); // again: a no-op
    await expect(connect({ ip: '127.0.0.1', port: 5001, srtpParameters })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
    await expect(
      call(client, client.consumeForPipe, { roomId: 'piped', remoteNode: 'node-c', producerId: 'missing' }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(
      call(client, client.produceFromPipe, {
        roomId: 'piped',
        remoteNode: 'node-c',
        producerId: 'p1',
        peerId: 'someone',
        kind: MediaKind.MEDIA_KIND_AUDIO,
        paused: false,
      }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await call(client, client.closePipeTransport, { roomId: 'piped', remoteNode: 'node-b' });
    await expect(connect({ ip: '127.0.0.1', port: 5000, srtpParameters })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    await call(client, client.closeRoom, { roomId: 'piped' });
  });

  it('refuses RTP parameters mediasoup cannot use with INVALID_ARGUMENT, not a crash', async () => {
    const transport = await call<{ transportId: string }>(client, client.createWebRtcTransport, {
      roomId: 'standup',
      peerId: 'peer-2',
      producing: true,
    });
    const bogus = {
      mid: '0',
      codecs: [
        { mimeType: 'video/NOPE', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [] },
      ],
      headerExtensions: [],
      encodings: [{ ssrc: 1234 }],
    };
    await expect(
      call(client, client.produce, {
        roomId: 'standup',
        transportId: transport.transportId,
        kind: MediaKind.MEDIA_KIND_VIDEO,
        rtpParameters: bogus,
        paused: false,
      }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^produce: /),
    });
    // The node is still fine.
    await expect(call(client, client.getRouterRtpCapabilities, { roomId: 'standup' })).resolves.toBeTruthy();
  });

  it('serves Prometheus metrics with gRPC durations and room gauges', async () => {
    const text = await (await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)).text();
    expect(text).toMatch(
      /switchboard_grpc_server_handling_seconds_count\{service="media",method="GetRouterRtpCapabilities",code="OK"\} \d+/,
    );
    expect(text).toMatch(/switchboard_media_rooms\{service="media"\} 1/);
    expect(text).toContain('process_cpu_seconds_total');
    const health = await fetch(`http://127.0.0.1:${node.metricsPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', workers: 1, draining: false });
  });

  it('caps rooms per node and transports per room, even under parallel requests', async () => {
    const capped = await MediaNode.create(
      readConfig(
        mediaTestEnv(consul.addr, {
          MEDIA_RTC_MIN_PORT: '31200',
          MEDIA_RTC_MAX_PORT: '31300',
          MEDIA_MAX_ROOMS: '2',
          MEDIA_MAX_TRANSPORTS_PER_ROOM: '3',
        }),
      ),
      createLogger({ service: 'media', level: 'warn' }).logger,
    );
    const cappedClient = new MediaServiceClient(
      `127.0.0.1:${capped.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    try {
      const rooms = await Promise.allSettled(
        ['r1', 'r2', 'r3', 'r4', 'r5'].map((roomId) =>
          call(cappedClient, cappedClient.getRouterRtpCapabilities, { roomId }),
        ),
      );
      expect(rooms.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      for (const refused of rooms.filter((r) => r.status === 'rejected')) {
        expect(refused.reason).toMatchObject({
          code: grpc.status.RESOURCE_EXHAUSTED,
          details: 'this media node is full: at most 2 rooms; try again later',
        });
      }
      const roomId = ['r1', 'r2', 'r3', 'r4', 'r5'][rooms.findIndex((r) => r.status === 'fulfilled')];
      const transports = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          call(cappedClient, cappedClient.createWebRtcTransport, {
            roomId,
            peerId: `p${i}`,
            producing: false,
          }),
        ),
      );
      expect(transports.filter((t) => t.status === 'fulfilled')).toHaveLength(3);
      expect(transports.find((t) => t.status === 'rejected')).toMatchObject({
        reason: { code: grpc.status.RESOURCE_EXHAUSTED },
      });
    } finally {
      cappedClient.close();
      await capped.close();
    }
  });

  it('deregisters from Consul on close', async () => {
    await node.close();
    const instances = await consul.client.instances('media');
    expect(instances).toHaveLength(0);
  });
});
