/**
 * The reference of `npm run bench -- match`: the least a matchmaker can do over socket.io, in one
 * process with the queue in memory: a `/match` namespace with the same requests and events as
 * ours (start, leave; matched, matchEnded), pairing a shared interest first, else two without
 * interests, first come first served. No Redis, no second instance, no rooms, no tokens, no
 * limits. Prints `listening <port>`.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Server, type Socket } from 'socket.io';

interface Waiter {
  socket: Socket;
  name: string;
  tags: string[];
}

const byTag = new Map<string, Set<Waiter>>();
const anyone = new Set<Waiter>();
const waiting = new Map<string, Waiter>();
const partners = new Map<string, Socket>();

function unqueue(waiter: Waiter): void {
  waiting.delete(waiter.socket.id);
  anyone.delete(waiter);
  for (const tag of waiter.tags) {
    byTag.get(tag)?.delete(waiter);
  }
}

function end(socket: Socket): void {
  const waiter = waiting.get(socket.id);
  if (waiter) {
    unqueue(waiter);
  }
  const partner = partners.get(socket.id);
  if (partner) {
    partners.delete(socket.id);
    partners.delete(partner.id);
    partner.emit('matchEnded', { reason: 'left' });
  }
}

const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
io.of('/match').on('connection', (socket) => {
  socket.on('start', (p: { name: string; interests: string[] }, ack: (a: unknown) => void) => {
    const me: Waiter = { socket, name: p.name, tags: p.interests };
    let other: Waiter | undefined;
    for (const tag of me.tags) {
      other = byTag.get(tag)?.values().next().value;
      if (other) {
        break;
      }
    }
    if (!other && me.tags.length === 0) {
      other = anyone.values().next().value;
    }
    if (!other) {
      waiting.set(socket.id, me);
      (me.tags.length === 0
        ? [anyone]
        : me.tags.map((t) => byTag.get(t) ?? byTag.set(t, new Set()).get(t)!)
      ).forEach((set) => set.add(me));
      ack({ ok: true, data: { state: 'waiting' } });
      return;
    }
    unqueue(other);
    partners.set(socket.id, other.socket);
    partners.set(other.socket.id, socket);
    const matchId = randomUUID();
    const shared = me.tags.filter((t) => other.tags.includes(t));
    other.socket.emit('matched', { matchId, roomId: matchId, token: '', partner: { name: me.name }, shared });
    socket.emit('matched', { matchId, roomId: matchId, token: '', partner: { name: other.name }, shared });
    ack({ ok: true, data: { state: 'matched' } });
  });
  socket.on('leave', (_p: unknown, ack: (a: unknown) => void) => {
    end(socket);
    ack({ ok: true, data: {} });
  });
  socket.on('disconnect', () => end(socket));
});
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  void io.close();
  process.exit(0);
});
