/** A browser peer as this signaling instance holds it: its socket and what it owns on the SFU. */
import type { Socket } from 'socket.io';
import { AppError, NotFoundError } from '@switchboard/errors';
import type { ClientToServerEvents, RtpCapabilities, ServerToClientEvents } from '@switchboard/protocol';

export interface PeerState {
  peerId: string;
  displayName: string;
  roomId: string;
  joined: boolean;
  rtpCapabilities?: RtpCapabilities;
  transports: Set<string>;
  producers: Set<string>;
  consumers: Set<string>;
}

export type SocketData = { peer: PeerState };
export type PeerSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  SocketData
>;

/** What one peer may hold at once; more is a misbehaving client (RESOURCE_EXHAUSTED). */
export const PEER_LIMITS = { transports: 4, producers: 8, consumers: 400 } as const;

export function checkLimit(set: Set<string>, what: keyof typeof PEER_LIMITS): void {
  if (set.size >= PEER_LIMITS[what]) {
    throw new AppError('RESOURCE_EXHAUSTED', `a peer may hold at most ${PEER_LIMITS[what]} ${what}`);
  }
}

/** `id` if the peer owns it (a transport, producer or consumer it created), else NOT_FOUND. */
export function owned(set: Set<string>, id: string, what: string): string {
  if (!set.has(id)) {
    throw new NotFoundError(`${what} ${id} is not one of yours`);
  }
  return id;
}
