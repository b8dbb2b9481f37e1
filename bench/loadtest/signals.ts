/**
 * The two things a load-test participant can talk to. `ourSignal`: the real signaling path (a
 * guest join token from the gateway, socket.io through NGINX, signaling, gRPC, the media node).
 * `BareReference`: the same forwarding with bare mediasoup in this process (workers, one router
 * per room, the same codecs and transport settings as our media node) and no services at all:
 * the floor our services are measured against. `ourWorkerPids`: our side's worker processes, whose
 * CPU the load test and the capacity bench read.
 */
import { randomUUID } from 'node:crypto';
import * as mediasoup from 'mediasoup';
import type { types as server } from 'mediasoup';
import type { types } from 'mediasoup-client';
import { io, type Socket } from 'socket.io-client';
import type { ServiceCredentials } from '@switchboard/auth';
import type { ConsulClient } from '@switchboard/consul';
import {
  SignalingConnection,
  type ConsumerInfo,
  type RequestName,
  type TransportInfo,
} from '@switchboard/protocol';
import { ApiClient, randomAddress } from '@switchboard/testing';
import { MEDIA_CODECS } from '../../services/media/src/mediaCodecs';
import { MediaClient } from '../../services/signaling/src/MediaClient';
import type { PeerSignal } from './LoadPeer';

/** A guest of `room` on the deployment at `baseUrl`, through the gateway and signaling. */
export async function ourSignal(baseUrl: string, room: string, name: string): Promise<PeerSignal> {
  const guest = new ApiClient(baseUrl, { address: randomAddress() });
  const issued = await guest.json<{ token: string }>('POST', `/api/rooms/${room}/tokens`, {
    displayName: name,
  });
  if (issued.status !== 201) {
    throw new Error(`join token refused: ${issued.status} ${JSON.stringify(issued.body)}`);
  }
  const socket: Socket = io(baseUrl, {
    path: '/socket.io',
    auth: { token: issued.body.token },
    transports: ['websocket'],
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const signaling = new SignalingConnection(socket, { timeoutMs: 20_000 });
  const ask = async <T>(event: RequestName, payload: object): Promise<T> =>
    (await signaling.request(event, payload as never)) as T;
  return {
    capabilities: async () =>
      (await ask<{ rtpCapabilities: types.RtpCapabilities }>('getRouterRtpCapabilities', {})).rtpCapabilities,
    join: async (rtpCapabilities) => {
      const { status } = await ask<{ status: string }>('join', { rtpCapabilities });
      if (status !== 'joined') {
        throw new Error(`join: ${status}`);
      }
    },
    createTransport: async (producing) => {
      const info = await ask<TransportInfo>(
        'createWebRtcTransport',
        producing ? { producing } : { producing, consumeExisting: true },
      );
      return { options: info as unknown as types.TransportOptions, consumers: info.consumers ?? [] };
    },
    connect: async (transportId, dtlsParameters) => {
      await ask('connectWebRtcTransport', { transportId, dtlsParameters });
    },
    produce: async (transportId, kind, rtpParameters) =>
      (await ask<{ producerId: string }>('produce', { transportId, kind, rtpParameters })).producerId,
    resume: async (consumerIds) => {
      for (let i = 0; i < consumerIds.length; i += 100) {
        await ask('resumeConsumers', { consumerIds: consumerIds.slice(i, i + 100) });
      }
    },
    close: () => socket.disconnect(),
  };
}

/** The pids of every passing media node's workers (each node's GetLoad, found through Consul). */
export async function ourWorkerPids(
  consul: ConsulClient,
  credentials: ServiceCredentials,
): Promise<number[]> {
  const pids: number[] = [];
  for (const node of await consul.instances('media', { passingOnly: true })) {
    const client = new MediaClient({
      instanceId: node.id,
      address: `${node.address}:${node.port}`,
      timeoutMs: 2000,
      credentials,
    });
    try {
      const load = await client.call('getLoad', {}, { correlationId: `bench-${randomUUID()}` });
      pids.push(...load.workers.map((w) => w.pid));
    } finally {
      client.close();
    }
  }
  return pids;
}

interface BareRoom {
  router: server.Router;
  producers: server.Producer[];
  /** Its worker's, when the reference runs them. */
  webRtcServer?: server.WebRtcServer;
}

/** Bare mediasoup: workers, a router per room (round robin), transports like our media node's. */
export class BareReference {
  readonly #workers: server.Worker[];
  readonly #rooms = new Map<string, Promise<BareRoom>>();
  readonly #ports: { min: number; max: number };
  readonly #webRtcServers: server.WebRtcServer[];

  private constructor(
    workers: server.Worker[],
    ports: { min: number; max: number },
    webRtcServers: server.WebRtcServer[],
  ) {
    this.#workers = workers;
    this.#ports = ports;
    this.#webRtcServers = webRtcServers;
  }

  /**
   * `workers` mediasoup workers; with `webRtcServer`, each listens on one port of `ports` (UDP and
   * TCP) for all its transports, as our media node does by default (MEDIA_WEBRTC_SERVER).
   */
  static async start(
    workers: number,
    ports: { min: number; max: number },
    options: { webRtcServer?: boolean } = {},
  ): Promise<BareReference> {
    const started: server.Worker[] = [];
    const servers: server.WebRtcServer[] = [];
    for (let i = 0; i < workers; i++) {
      const worker = await mediasoup.createWorker({ logLevel: 'warn' });
      started.push(worker);
      if (options.webRtcServer) {
        servers.push(
          await worker.createWebRtcServer({
            listenInfos: [
              { protocol: 'udp', ip: '127.0.0.1', port: ports.min + i },
              { protocol: 'tcp', ip: '127.0.0.1', port: ports.min + i },
            ],
          }),
        );
      }
    }
    return new BareReference(started, ports, servers);
  }

  get workerPids(): number[] {
    return this.#workers.map((w) => w.pid);
  }

  #room(roomId: string): Promise<BareRoom> {
    let room = this.#rooms.get(roomId);
    if (!room) {
      const index = this.#rooms.size % this.#workers.length;
      room = this.#workers[index]
        .createRouter({ mediaCodecs: MEDIA_CODECS })
        .then((router) => ({ router, producers: [], webRtcServer: this.#webRtcServers[index] }));
      this.#rooms.set(roomId, room);
    }
    return room;
  }

  signal(roomId: string): PeerSignal {
    const transports = new Map<string, server.WebRtcTransport>();
    const consumers = new Map<string, server.Consumer>();
    let capabilities: server.RtpCapabilities | undefined;
    const portRange = this.#ports;
    return {
      capabilities: async () => (await this.#room(roomId)).router.rtpCapabilities as types.RtpCapabilities,
      join: async (rtpCapabilities) => {
        capabilities = rtpCapabilities as server.RtpCapabilities;
      },
      createTransport: async (producing) => {
        const room = await this.#room(roomId);
        const { webRtcServer } = room;
        const transport = await room.router.createWebRtcTransport({
          ...(webRtcServer
            ? { webRtcServer }
            : {
                listenInfos: [
                  { protocol: 'udp', ip: '127.0.0.1', portRange },
                  { protocol: 'tcp', ip: '127.0.0.1', portRange },
                ],
              }),
          enableUdp: true,
          enableTcp: true,
          preferUdp: true,
          initialAvailableOutgoingBitrate: 1_000_000,
        });
        transports.set(transport.id, transport);
        const made: ConsumerInfo[] = [];
        if (!producing) {
          for (const producer of room.producers.filter((p) => !p.closed)) {
            const consumer = await transport.consume({
              producerId: producer.id,
              rtpCapabilities: capabilities!,
              paused: true,
            });
            consumers.set(consumer.id, consumer);
            made.push({
              consumerId: consumer.id,
              producerId: producer.id,
              peerId: '',
              kind: consumer.kind,
              source: consumer.kind === 'audio' ? 'microphone' : 'camera',
              rtpParameters: consumer.rtpParameters as ConsumerInfo['rtpParameters'],
              producerPaused: consumer.producerPaused,
            });
          }
        }
        return {
          options: {
            id: transport.id,
            iceParameters: transport.iceParameters,
            iceCandidates: transport.iceCandidates,
            dtlsParameters: transport.dtlsParameters,
          } as types.TransportOptions,
          consumers: made,
        };
      },
      connect: async (transportId, dtlsParameters) => {
        await transports
          .get(transportId)!
          .connect({ dtlsParameters: dtlsParameters as server.DtlsParameters });
      },
      produce: async (transportId, kind, rtpParameters) => {
        const producer = await transports
          .get(transportId)!
          .produce({ kind, rtpParameters: rtpParameters as server.RtpParameters });
        (await this.#room(roomId)).producers.push(producer);
        return producer.id;
      },
      resume: async (consumerIds) => {
        await Promise.all(consumerIds.map((id) => consumers.get(id)!.resume()));
      },
      close: () => {
        for (const transport of transports.values()) {
          transport.close();
        }
      },
    };
  }

  close(): void {
    for (const worker of this.#workers) {
      worker.close();
    }
  }
}
