/**
 * The chat benchmark's reference: the least a fan-out server can do. A plain `ws` server where a
 * client joins a room and every message it sends goes to the room's other members with a room
 * sequence number, and an ack to the sender. No persistence, no validation, no adapter: what our
 * chat costs beyond this is the price of the guarantee. Run as its own process (like signaling);
 * prints `listening <port>` when ready.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const rooms = new Map<string, { seq: number; members: Set<WebSocket> }>();
const server = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });

server.on('connection', (socket) => {
  let room: { seq: number; members: Set<WebSocket> } | undefined;
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as
      { t: 'join'; room: string } | { t: 'msg'; id: string; body: string };
    if (message.t === 'join') {
      room = rooms.get(message.room) ?? { seq: 0, members: new Set() };
      rooms.set(message.room, room);
      room.members.add(socket);
      socket.send(JSON.stringify({ t: 'joined' }));
      return;
    }
    if (!room) {
      return;
    }
    const out = JSON.stringify({ t: 'msg', seq: ++room.seq, body: message.body });
    for (const member of room.members) {
      if (member !== socket) {
        member.send(out);
      }
    }
    socket.send(JSON.stringify({ t: 'ack', id: message.id }));
  });
  socket.on('close', () => room?.members.delete(socket));
});

server.on('listening', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
