/**
 * The browser sockets connected to this instance, by peer id: the one record of them. Connections
 * adds and removes them; host controls, attributes and the server close or read them here, and
 * reach the sockets of other instances through the socket.io adapter.
 */
import type { ClosingNotice, PeerSocket, SignalingIo } from './peer';

export class LocalSockets {
  readonly #io: SignalingIo;
  readonly #sockets = new Map<string, PeerSocket>();

  constructor(io: SignalingIo) {
    this.#io = io;
  }

  get size(): number {
    return this.#sockets.size;
  }

  add(socket: PeerSocket): void {
    this.#sockets.set(socket.data.peer.peerId, socket);
  }

  /** Forgets the socket (only if it is still the one held for its peer id). */
  delete(socket: PeerSocket): void {
    const { peerId } = socket.data.peer;
    if (this.#sockets.get(peerId) === socket) {
      this.#sockets.delete(peerId);
    }
  }

  get(peerId: string): PeerSocket | undefined {
    return this.#sockets.get(peerId);
  }

  values(): IterableIterator<PeerSocket> {
    return this.#sockets.values();
  }

  /** Closes a peer's socket after telling it why, on whichever instance holds it. */
  closePeerEverywhere(peerId: string, notice: ClosingNotice): void {
    this.closePeer(peerId, notice);
    this.#io.serverSideEmit('closePeer', peerId, notice);
  }

  /** Tells a peer connected here why, then closes its socket (its disconnect cleans up). */
  closePeer(peerId: string, notice: ClosingNotice): void {
    const socket = this.#sockets.get(peerId);
    if (!socket) {
      return;
    }
    const { event, ...payload } = notice;
    socket.emit(event, payload as never);
    // Next turn of the loop, so a request that caused this (a host ending the meeting for
    // everyone, themselves included) still gets its acknowledgement first.
    setImmediate(() => socket.disconnect(true));
  }

  /** Ends the call for the room's sockets on every instance (joined and waiting alike). */
  endRoomEverywhere(roomId: string, notice: ClosingNotice): void {
    this.endRoom(roomId, notice);
    this.#io.serverSideEmit('endRoom', roomId, notice);
  }

  /** Ends the call for the room's sockets here. */
  endRoom(roomId: string, notice: ClosingNotice): void {
    for (const [peerId, socket] of this.#sockets) {
      if (socket.data.peer.roomId === roomId) {
        this.closePeer(peerId, notice);
      }
    }
  }
}
