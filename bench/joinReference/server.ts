/**
 * The join benchmark's reference: bare mediasoup (one worker, one router per room, the same codecs
 * as our media node) with a minimal `ws` signaling, serving the plain page of `client.ts` (bundled
 * with esbuild when it starts) at `/r/<room>?name=<name>` — no accounts, no Consul, no Redis, no
 * Postgres, no NGINX. Written for the benchmark only: no validation, no limits.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { WebSocketServer, type WebSocket } from 'ws';
import { MEDIA_CODECS } from '../../services/media/src/mediaCodecs';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>plain mediasoup</title></head>
<body>
<video id="preview" aria-label="Your camera preview" autoplay muted playsinline></video>
<button id="join" disabled>Join</button>
<div id="remotes"></div>
<script type="module" src="/client.js"></script>
</body></html>`;

interface Peer {
  name: string;
  socket: WebSocket;
  transports: Map<string, types.WebRtcTransport>;
  producers: types.Producer[];
}

interface RoomState {
  router: types.Router;
  peers: Set<Peer>;
}

export interface JoinReference {
  url: string;
  close(): Promise<void>;
}

export async function startJoinReference(): Promise<JoinReference> {
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, 'client.ts')],
    bundle: true,
    format: 'esm',
    target: 'chrome120',
    write: false,
  });
  const script = bundle.outputFiles[0].text;
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  const rooms = new Map<string, Promise<RoomState>>();
  const roomOf = (id: string) => {
    let room = rooms.get(id);
    if (!room) {
      room = worker
        .createRouter({ mediaCodecs: MEDIA_CODECS })
        .then((router) => ({ router, peers: new Set() }));
      rooms.set(id, room);
    }
    return room;
  };

  const http = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else if (req.url?.startsWith('/r/')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  wss.on('connection', (socket) => {
    let room: RoomState | undefined;
    let peer: Peer | undefined;
    const handlers: Record<string, (data: Record<string, unknown>) => Promise<unknown>> = {
      async join(data) {
        room = await roomOf(String(data.room));
        peer = { name: String(data.name), socket, transports: new Map(), producers: [] };
        const producers = [...room.peers].flatMap((p) =>
          p.producers.map((producer) => ({ producerId: producer.id, name: p.name })),
        );
        room.peers.add(peer);
        return { rtpCapabilities: room.router.rtpCapabilities, producers };
      },
      async createTransport() {
        const transport = await room!.router.createWebRtcTransport({
          listenInfos: [
            { protocol: 'udp', ip: '127.0.0.1' },
            { protocol: 'tcp', ip: '127.0.0.1' },
          ],
          preferUdp: true,
          initialAvailableOutgoingBitrate: 1_000_000,
        });
        peer!.transports.set(transport.id, transport);
        const { id, iceParameters, iceCandidates, dtlsParameters } = transport;
        return { id, iceParameters, iceCandidates, dtlsParameters };
      },
      async connect(data) {
        await peer!.transports
          .get(String(data.transportId))!
          .connect({ dtlsParameters: data.dtlsParameters as types.DtlsParameters });
        return {};
      },
      async produce(data) {
        const producer = await peer!.transports.get(String(data.transportId))!.produce({
          kind: data.kind as types.MediaKind,
          rtpParameters: data.rtpParameters as types.RtpParameters,
        });
        peer!.producers.push(producer);
        for (const other of room!.peers) {
          if (other !== peer) {
            other.socket.send(
              JSON.stringify({
                notification: 'newProducer',
                data: { producerId: producer.id, name: peer!.name },
              }),
            );
          }
        }
        return { id: producer.id };
      },
      async consume(data) {
        const consumer = await peer!.transports.get(String(data.transportId))!.consume({
          producerId: String(data.producerId),
          rtpCapabilities: data.rtpCapabilities as types.RtpCapabilities,
          paused: true,
        });
        consumers.set(consumer.id, consumer);
        const { id, producerId, kind, rtpParameters } = consumer;
        return { id, producerId, kind, rtpParameters };
      },
      async resume(data) {
        await consumers.get(String(data.consumerId))!.resume();
        return {};
      },
    };
    const consumers = new Map<string, types.Consumer>();
    socket.on('message', (raw) => {
      const { id, method, data } = JSON.parse(String(raw)) as {
        id: number;
        method: string;
        data: Record<string, unknown>;
      };
      handlers[method](data).then(
        (result) => socket.send(JSON.stringify({ id, ok: true, data: result })),
        (error: unknown) => socket.send(JSON.stringify({ id, ok: false, error: String(error) })),
      );
    });
    socket.on('close', () => {
      if (room && peer) {
        room.peers.delete(peer);
        for (const transport of peer.transports.values()) {
          transport.close();
        }
      }
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const client of wss.clients) {
        client.terminate();
      }
      wss.close();
      await new Promise((resolve) => http.close(resolve));
      worker.close();
    },
  };
}
