/**
 * The chat benchmark's second reference: the least a socket.io server can do for chat, with the
 * settings signaling uses (WebSocket, the same buffer limit and ping timeout). A client connects
 * with `auth: { room }` and is put in that room; every `chatSend` goes to the room's other members
 * as `chatMessage` with a room sequence number, and is acknowledged `{ ok, data }`. No storage, no
 * validation, no accounts. With `REDIS_URL` the broadcast also goes through the socket.io Redis
 * adapter, as signaling's does. What signaling costs beyond this is ours to cut; what this costs
 * beyond the bare `ws` relay (bench/wsReference.ts) is socket.io's. Run as its own process (like
 * signaling); prints `listening <port>` when ready; `GET /loop` answers its worst event-loop delay
 * (ms) since the previous one, `GET /heap` its V8 heap in use and reserved (MB) and its GC pauses so
 * far (ms).
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

// GET /loop: the worst event-loop delay (ms) since the previous GET, as signaling's metrics give it.
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
// The main thread's GC pauses since start (ms), every kind, as signaling's prom-client counts them.
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMs += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });
const http = createServer((req, res) => {
  if (req.url === '/loop') {
    res.end(String(loop.max / 1e6));
    loop.reset();
  } else if (req.url === '/heap') {
    const { heapUsed, heapTotal } = process.memoryUsage();
    res.end(JSON.stringify({ used: heapUsed / 2 ** 20, total: heapTotal / 2 ** 20, gcMs }));
  }
});
const io = new Server(http, { serveClient: false, maxHttpBufferSize: 256 * 1024, pingTimeout: 20_000 });
const redisUrl = process.env.REDIS_URL;
const redis = redisUrl ? [new Redis(redisUrl), new Redis(redisUrl)] : [];
if (redis.length === 2) {
  // Its own key prefix: a signaling instance sharing this Redis must not receive these broadcasts.
  io.adapter(createAdapter(redis[0], redis[1], { key: `bench:ref:${process.pid}` }));
}
const seqs = new Map<string, number>();

io.on('connection', (socket) => {
  const room = String((socket.handshake.auth as { room?: unknown }).room ?? '');
  void socket.join(room);
  socket.on('chatSend', (payload: { body?: unknown }, ack: unknown) => {
    const seq = (seqs.get(room) ?? 0) + 1;
    seqs.set(room, seq);
    const message = { roomId: room, seq, body: String(payload.body) };
    socket.to(room).emit('chatMessage', message);
    if (typeof ack === 'function') {
      ack({ ok: true, data: { message } });
    }
  });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  void io.close(() => {
    for (const client of redis) {
      client.disconnect();
    }
    process.exit(0);
  });
});
