/**
 * Room chat and private messages over the socket. The guarantee: a message is acknowledged only
 * after Postgres committed it (ChatStore), a retry with the same clientId is answered with the
 * stored message, and every change carries the room's revision so a client that sees a jump asks
 * `chatSync` for what it missed. Fan-out goes through the socket.io Redis adapter to every
 * instance; it is best effort, the revisions make it whole. Private messages go to the sender's
 * and the recipient's identities only (all their sockets in the room); everyone else gets the bare
 * revision (`chatRev`) so their counters stay contiguous.
 */
import type { ChatStore } from '@switchboard/db';
import { InvalidArgumentError, NotFoundError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import type { ChatMessage, ChatParty, requestSchemas, ResponseMap } from '@switchboard/protocol';
import { LocalBudget } from '@switchboard/runtime';
import type { z } from 'zod';
import { joinedPeer, type PeerSocket, type PeerState, type SignalingIo } from './peer';
import type { Presence } from './Presence';

type Payload<E extends keyof typeof requestSchemas> = z.output<(typeof requestSchemas)[E]>;
/** What a request brings for its own log lines. */
type Logged = { readonly logger: Logger };

/** The socket.io room of one identity's sockets in one meeting (private messages go there). */
export const identityRoom = (roomId: string, sub: string) => `id:${roomId}:${sub}`;

/** Typing notices closer together than this are dropped (the UI shows one for a few seconds). */
export const TYPING_INTERVAL_MS = 2000;
const HISTORY_PAGE = 50;
const SYNC_PAGE = 200;

export interface ChatOptions {
  io: SignalingIo;
  store: ChatStore;
  presence: Presence;
  /** Messages one connection may send (edits included) per window. */
  messagesPerWindow: number;
  windowSeconds: number;
  logger: Logger;
}

export class Chat {
  readonly #o: ChatOptions;
  /** Per connection, in memory (a socket lives on one instance): no Redis round trip per message. */
  readonly #limiter: LocalBudget;
  /** When each local socket last had a typing notice relayed. */
  readonly #lastTyping = new WeakMap<PeerSocket, number>();

  constructor(options: ChatOptions) {
    this.#o = options;
    this.#limiter = new LocalBudget({
      points: options.messagesPerWindow,
      windowSeconds: options.windowSeconds,
      message: `you are sending messages too fast: at most ${options.messagesPerWindow} per ${options.windowSeconds} s`,
    });
  }

  /** Called when a peer joins: its sockets receive its private messages. */
  async joined(socket: PeerSocket): Promise<void> {
    const { roomId, sub } = socket.data.peer;
    await socket.join(identityRoom(roomId, sub));
  }

  async send(socket: PeerSocket, p: Payload<'chatSend'>, ctx: Logged): Promise<ResponseMap['chatSend']> {
    const peer = joinedPeer(socket);
    const to = p.to === undefined ? null : await this.#recipient(peer, p.to);
    this.#limiter.take(peer.peerId);
    const result = await this.#o.store.send({
      roomId: peer.roomId,
      clientId: p.clientId,
      from: party(peer),
      to,
      body: p.body,
    });
    // A retry is fanned out again: the first attempt may have committed and then lost its
    // fan-out (a crash); receivers keep one copy per sequence number.
    this.#fanOut(result.message, socket);
    // The request's own line (`chatSend ok 3.1 ms`, debug) says it was stored; a retry is worth its own.
    if (result.duplicate) {
      ctx.logger.info(
        { seq: result.message.seq, private: to !== null },
        'chat message retried (already stored)',
      );
    }
    return result;
  }

  async edit(socket: PeerSocket, p: Payload<'chatEdit'>, ctx: Logged): Promise<ResponseMap['chatEdit']> {
    const peer = joinedPeer(socket);
    this.#limiter.take(peer.peerId);
    const message = await this.#o.store.change(reader(peer), p.seq, p.body);
    this.#fanOut(message, socket);
    ctx.logger.info({ seq: p.seq }, 'chat message edited');
    return { message };
  }

  async delete(
    socket: PeerSocket,
    p: Payload<'chatDelete'>,
    ctx: Logged,
  ): Promise<ResponseMap['chatDelete']> {
    const peer = joinedPeer(socket);
    const message = await this.#o.store.change(reader(peer), p.seq, null);
    this.#fanOut(message, socket);
    ctx.logger.info({ seq: p.seq }, 'chat message deleted');
    return { message };
  }

  async history(socket: PeerSocket, p: Payload<'chatHistory'>): Promise<ResponseMap['chatHistory']> {
    const peer = joinedPeer(socket);
    return this.#o.store.history(reader(peer), { before: p.before, limit: p.limit ?? HISTORY_PAGE });
  }

  async sync(socket: PeerSocket, p: Payload<'chatSync'>): Promise<ResponseMap['chatSync']> {
    const peer = joinedPeer(socket);
    return this.#o.store.sync(reader(peer), { after: p.after, limit: p.limit ?? SYNC_PAGE });
  }

  async search(socket: PeerSocket, p: Payload<'chatSearch'>): Promise<ResponseMap['chatSearch']> {
    const peer = joinedPeer(socket);
    return { results: await this.#o.store.search(reader(peer), p.q, p.limit ?? 20) };
  }

  async typing(socket: PeerSocket, p: Payload<'chatTyping'>): Promise<ResponseMap['chatTyping']> {
    const peer = joinedPeer(socket);
    const now = Date.now();
    if (now - (this.#lastTyping.get(socket) ?? 0) < TYPING_INTERVAL_MS) {
      return { sent: false };
    }
    this.#lastTyping.set(socket, now);
    const notice = { peerId: peer.peerId, displayName: peer.displayName, private: p.to !== undefined };
    if (p.to === undefined) {
      socket.to(peer.roomId).emit('chatTyping', notice);
    } else {
      const to = await this.#recipient(peer, p.to);
      this.#o.io.to(identityRoom(peer.roomId, to.sub)).emit('chatTyping', notice);
    }
    return { sent: true };
  }

  /** The participant a private message goes to: someone else in this meeting now. */
  async #recipient(peer: PeerState, peerId: string): Promise<ChatParty> {
    if (peerId === peer.peerId) {
      throw new InvalidArgumentError('invalid request: to: you cannot send a private message to yourself');
    }
    const target = await this.#o.presence.peer(peer.roomId, peerId);
    if (!target) {
      throw new NotFoundError(`participant ${peerId} is not in this meeting`);
    }
    return { sub: target.sub, peerId: target.peerId, displayName: target.displayName };
  }

  /** To everyone but the sending socket, which has the message in its acknowledgement. */
  #fanOut(message: ChatMessage, sender: PeerSocket): void {
    const { io } = this.#o;
    if (message.to === null) {
      io.to(message.roomId).except(sender.id).emit('chatMessage', message);
      return;
    }
    const parties = [
      identityRoom(message.roomId, message.from.sub),
      identityRoom(message.roomId, message.to.sub),
    ];
    io.to(parties).except(sender.id).emit('chatMessage', message);
    io.to(message.roomId).except(parties).emit('chatRev', { rev: message.rev });
  }
}

const party = (peer: PeerState): ChatParty => ({
  sub: peer.sub,
  peerId: peer.peerId,
  displayName: peer.displayName,
});

const reader = (peer: PeerState) => ({ roomId: peer.roomId, sub: peer.sub });
