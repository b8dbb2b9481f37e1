/** A browser peer as this signaling instance holds it: its socket, grants and what it owns on the SFU. */
import type { Server, Socket } from 'socket.io';
import { AppError, NotFoundError } from '@switchboard/errors';
import type {
  ClientToServerEvents,
  ParticipantAttributes,
  PeerInfo,
  PresenceState,
  ProducerInfo,
  Role,
  ServerToClientEvents,
} from '@switchboard/protocol';
import type { RtpCapabilities as ProtoRtpCapabilities } from '@switchboard/proto';
import type { MediaClient } from './MediaClient';
import { hostsRoom, publicParticipant, type LobbyEntry, type StoredParticipant } from '@switchboard/rooms';

export interface PeerState {
  peerId: string;
  displayName: string;
  roomId: string;
  /** The role the join token granted (a host may promote the peer later: see Presence). */
  role: Role;
  /** `user:<uuid>` or `guest:<uuid>`, and the join token's id (what a removal bans). */
  sub: string;
  jti: string;
  canPublish: boolean;
  canSubscribe: boolean;
  /** Where rate limits count this peer's client: its account, or its address for guests. */
  clientKey: string;
  /** The client's address (from X-Forwarded-For when the connection is a trusted proxy's). */
  address: string;
  /** The older connection of the same identity this one replaced (closed when it is accepted). */
  replaces?: string;
  joined: boolean;
  /** Waiting in the room's lobby for a host (until `lobbyUntil`, epoch ms). */
  inLobby: boolean;
  lobbyUntil?: number;
  /** What it can receive, in the form Consume takes (shared by the peers that sent the same). */
  rtpCapabilities?: ProtoRtpCapabilities;
  /** The media node its transports, producers and consumers are on (chosen when it joins). */
  media?: MediaClient;
  transports: Set<string>;
  /**
   * Its producers: what each sends and whether it is paused (what presence shows the room).
   * `Producers` keeps it.
   */
  producers: Map<string, ProducerInfo>;
  consumers: Set<string>;
  /** In the call or away, as the peer last said. */
  presence: PresenceState;
  /**
   * Its attributes as the room has them (ParticipantStore owns them; this copy is what this
   * instance writes back if Redis loses its data). Kept current by Attributes.
   */
  attributes: ParticipantAttributes;
  /** Slots reserved by requests still talking to the media node (counted against the limits). */
  reserved: Record<LimitKind, number>;
}

export type SocketData = { peer: PeerState };

export { hostsRoom, peerRoom } from '@switchboard/rooms';

/** A notice a peer gets just before the server closes its socket. */
export type ClosingNotice =
  | { event: 'removed'; reason: string }
  | { event: 'denied'; reason: string }
  | { event: 'callEnded'; reason: string; final: boolean };

/** What a connection is told when a newer one with the same identity takes its place. */
export const REPLACED_NOTICE: ClosingNotice = {
  event: 'callEnded',
  reason: 'You joined this meeting from another tab or device, so this one left the call.',
  final: true,
};

/**
 * What a peer is told when the media node carrying its call lost it: not final, so its browser
 * rejoins at once (the room reopens on another node).
 */
export const MEDIA_LOST_NOTICE: ClosingNotice = {
  event: 'callEnded',
  reason: 'The media server lost this call. Rejoin to continue.',
  final: false,
};

/** Messages between signaling instances (through the socket.io Redis adapter). */
export interface InterServerEvents {
  /** Close a peer's socket after telling it why (the instance that holds it acts). */
  closePeer: (peerId: string, notice: ClosingNotice) => void;
  /** Close every socket of the room (joined or waiting) on the receiving instance. */
  endRoom: (roomId: string, notice: ClosingNotice) => void;
  /** A participant's attributes changed (the instance holding its socket keeps a copy). */
  peerAttributes: (peerId: string, attributes: ParticipantAttributes) => void;
}

export type PeerSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type SignalingIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** What one peer may hold at once; more is a misbehaving client (RESOURCE_EXHAUSTED). */
export const PEER_LIMITS = { transports: 4, producers: 8, consumers: 400 } as const;
export type LimitKind = keyof typeof PEER_LIMITS;

/**
 * Creates one `what` for the peer within its limit. The slot is reserved before `create` awaits
 * anything, so parallel requests cannot all pass the check and then all create something; `keep`
 * records the created one with the peer before the reservation ends (it ends either way).
 */
export async function createWithinLimit<T>(
  peer: PeerState,
  what: LimitKind,
  create: () => Promise<T>,
  keep: (created: T) => void,
): Promise<T> {
  if (peer[what].size + peer.reserved[what] >= PEER_LIMITS[what]) {
    throw new AppError('RESOURCE_EXHAUSTED', `a peer may hold at most ${PEER_LIMITS[what]} ${what}`);
  }
  peer.reserved[what]++;
  try {
    const created = await create();
    keep(created);
    return created;
  } finally {
    peer.reserved[what]--;
  }
}

/** The socket's peer, which must have joined its room (FAILED_PRECONDITION otherwise). */
export function joinedPeer(socket: PeerSocket): PeerState {
  const peer = socket.data.peer;
  if (!peer.joined) {
    throw new AppError('FAILED_PRECONDITION', 'join the room first');
  }
  return peer;
}

/** `id` if the peer owns it (a transport, producer or consumer it created), else NOT_FOUND. */
export function owned(set: { has(id: string): boolean }, id: string, what: string): string {
  if (!set.has(id)) {
    throw new NotFoundError(`${what} ${id} is not one of yours`);
  }
  return id;
}

/**
 * A joined peer as the room stores it, held by this instance (`instanceId`): its role is the
 * token's, or host once a host promoted it (its socket then joined the hosts' room, on whichever
 * instance the promotion happened).
 */
export function storedPeer(socket: PeerSocket, instanceId: string): StoredParticipant {
  const peer = socket.data.peer;
  return {
    peerId: peer.peerId,
    displayName: peer.displayName,
    role: socket.rooms.has(hostsRoom(peer.roomId)) ? 'host' : peer.role,
    sub: peer.sub,
    presence: peer.presence,
    attributes: peer.attributes,
    instanceId,
    jti: peer.jti,
    address: peer.address,
    mediaNode: peer.media?.instanceId,
  };
}

/** What everyone sees of a joined peer. */
export function peerInfo(socket: PeerSocket): PeerInfo {
  return publicParticipant(storedPeer(socket, ''));
}

/** A peer waiting in its room's lobby, as the lobby records it. */
export function lobbyEntry(peer: PeerState): LobbyEntry {
  return { peerId: peer.peerId, displayName: peer.displayName, role: peer.role, sub: peer.sub };
}
