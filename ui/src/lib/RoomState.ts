/**
 * What the browser knows of the room it is in, as one immutable value changed only by `reduce`
 * over the server's events (the join answer first). Pure: no sockets, no media, no timers — the
 * media tracks stay with MediaSession/CallClient, which look participants up by peer id. React
 * gets a new object whenever something changed, and the same object when nothing did.
 *
 * Events may come twice (a reconnect replays the join) or out of order across signaling
 * instances: every case is idempotent, and an event about someone unknown is ignored.
 */
import type {
  JoinResult,
  LeaveReason,
  MediaKind,
  MediaSource,
  ParticipantAttributes,
  PeerInfo,
  PresenceState,
  ProducerInfo,
  Role,
  RoomPolicy,
} from '@switchboard/protocol';

export interface ParticipantState {
  readonly peerId: string;
  readonly displayName: string;
  readonly role: Role;
  /** The same person across reconnects (a new peer id each time). */
  readonly sub?: string;
  /** In the call, away, or its connection dropped and it is expected back. */
  readonly presence: PresenceState | 'reconnecting';
  readonly attributes: Readonly<ParticipantAttributes>;
  /** What it sends, by producer id. */
  readonly producers: Readonly<Record<string, { kind: MediaKind; source: MediaSource; paused: boolean }>>;
}

export interface RoomState {
  readonly selfPeerId?: string;
  readonly role: Role;
  /** Our own attributes as the room has them. */
  readonly selfAttributes: Readonly<ParticipantAttributes>;
  readonly policy?: RoomPolicy;
  readonly multipleScreenShares: boolean;
  /** Whether participants may turn their microphones on themselves (hosts always may). */
  readonly selfUnmuteAllowed: boolean;
  /** What our join token lets us do: send media, receive it (a viewer's token only receives). */
  readonly canPublish: boolean;
  readonly canSubscribe: boolean;
  /**
   * What a host muted for us without letting us unmute (`locked`), and what a host asked or
   * allowed us to turn on since (`granted`: lets us while self-unmute is off). Kept across rejoins,
   * as the server keeps them for our identity.
   */
  readonly unmute: Readonly<{
    locked: Readonly<Record<MediaKind, boolean>>;
    granted: Readonly<Record<MediaKind, boolean>>;
  }>;
  readonly activeSpeaker?: string;
  /** The others, by peer id. */
  readonly participants: Readonly<Record<string, ParticipantState>>;
  /** Who waits in the lobby (hosts see them), by peer id. */
  readonly lobby: Readonly<Record<string, PeerInfo>>;
  /**
   * From a (re)connection until its join answer: the room's events that came meanwhile, applied
   * over the answer once it is in. The server reads the room for the answer after our socket
   * entered it, so an event may be older or newer than that read: every event being idempotent,
   * applying them all after the answer gives the room as it is either way (someone who joined
   * while our join was answered is kept, someone who left is gone).
   */
  readonly early?: readonly RoomEvent[];
}

export type RoomEvent =
  | { type: 'joined'; result: JoinResult }
  | { type: 'peerJoined'; peer: PeerInfo }
  | { type: 'peerLeft'; peerId: string; reason: LeaveReason }
  /** A peer shown as reconnecting did not come back in time. */
  | { type: 'peerGone'; peerId: string }
  | { type: 'presenceChanged'; peerId: string; state: PresenceState }
  | { type: 'attributesChanged'; peerId: string; attributes: ParticipantAttributes }
  | { type: 'roleChanged'; peerId: string; role: Role }
  | { type: 'policyChanged'; policy: RoomPolicy }
  | { type: 'screenSharingChanged'; multiple: boolean }
  | { type: 'selfUnmuteChanged'; allowed: boolean }
  /** A host muted our `kind`; `canUnmute` false: locked until a host allows it. */
  | { type: 'mutedByHost'; kind: MediaKind; canUnmute: boolean }
  /** A host asked us to turn `kind` on, or allowed it. */
  | { type: 'unmuteGranted'; kind: MediaKind }
  | { type: 'activeSpeaker'; peerId: string }
  | { type: 'lobbyRequest'; peer: PeerInfo }
  | { type: 'lobbyLeft'; peerId: string }
  | { type: 'newProducer'; producer: ProducerInfo }
  | { type: 'producerClosed'; producerId: string; peerId: string }
  | { type: 'producerPaused'; producerId: string; peerId: string; paused: boolean }
  /** Our connection dropped: the others are unknown until the next join answer. */
  | { type: 'connectionLost' }
  /** The call is over for us. */
  | { type: 'ended' };

export const initialRoomState: RoomState = {
  role: 'guest',
  selfAttributes: {},
  multipleScreenShares: false,
  selfUnmuteAllowed: true,
  canPublish: true,
  canSubscribe: true,
  unmute: { locked: { audio: false, video: false }, granted: { audio: false, video: false } },
  participants: {},
  lobby: {},
};

/** Whether we may not turn `kind` on ourselves now: a host's lock, or self-unmute off for us. */
export function unmuteLocked(state: RoomState, kind: MediaKind): boolean {
  const { locked, granted } = state.unmute;
  const heldBySwitch = kind === 'audio' && !state.selfUnmuteAllowed && state.role !== 'host';
  return locked[kind] || (heldBySwitch && !granted[kind]);
}

const DEFAULT_SOURCE: Record<MediaKind, MediaSource> = { audio: 'microphone', video: 'camera' };

function participantOf(peer: PeerInfo, previous?: ParticipantState): ParticipantState {
  return {
    peerId: peer.peerId,
    displayName: peer.displayName,
    role: peer.role,
    sub: peer.sub,
    presence: peer.presence ?? 'active',
    attributes: peer.attributes ?? {},
    producers: previous?.producers ?? {},
  };
}

function withProducer(state: RoomState, producer: ProducerInfo): RoomState {
  const participant = state.participants[producer.peerId];
  if (!participant) {
    return state;
  }
  const entry = {
    kind: producer.kind,
    source: producer.source ?? DEFAULT_SOURCE[producer.kind],
    paused: producer.paused,
  };
  const current = participant.producers[producer.producerId];
  if (
    current &&
    current.kind === entry.kind &&
    current.source === entry.source &&
    current.paused === entry.paused
  ) {
    return state;
  }
  return patch(state, producer.peerId, {
    producers: { ...participant.producers, [producer.producerId]: entry },
  });
}

function patch(state: RoomState, peerId: string, changes: Partial<ParticipantState>): RoomState {
  const participant = state.participants[peerId];
  if (!participant) {
    return state;
  }
  const changed = (Object.keys(changes) as (keyof ParticipantState)[]).some(
    (k) => participant[k] !== changes[k],
  );
  if (!changed) {
    return state;
  }
  return { ...state, participants: { ...state.participants, [peerId]: { ...participant, ...changes } } };
}

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}

/** The events that reset the room's view: never held back until a join answer. */
const RESETS = new Set<RoomEvent['type']>(['joined', 'connectionLost', 'ended']);

export function reduce(state: RoomState, event: RoomEvent): RoomState {
  if (state.early && !RESETS.has(event.type)) {
    return { ...state, early: [...state.early, event] };
  }
  switch (event.type) {
    case 'joined': {
      // The join answer is the whole room as it is now: a rejoin replaces the previous view.
      const { result } = event;
      let next: RoomState = {
        ...state,
        selfPeerId: result.peerId,
        role: result.role,
        policy: result.policy,
        multipleScreenShares: result.multipleScreenShares,
        selfUnmuteAllowed: result.selfUnmuteAllowed,
        canPublish: result.canPublish,
        canSubscribe: result.canSubscribe,
        activeSpeaker: result.activeSpeaker,
        participants: Object.fromEntries(result.peers.map((peer) => [peer.peerId, participantOf(peer)])),
        lobby: Object.fromEntries(result.lobby.map((peer) => [peer.peerId, peer])),
      };
      for (const producer of result.producers) {
        next = withProducer(next, producer);
      }
      return (state.early ?? []).reduce(reduce, { ...next, early: undefined });
    }
    case 'peerJoined': {
      const { peer } = event;
      if (peer.peerId === state.selfPeerId) {
        return state;
      }
      // Back after a dropped connection: the new peer takes the reconnecting one's place.
      let participants: Record<string, ParticipantState> = { ...state.participants };
      for (const other of Object.values(state.participants)) {
        if (peer.sub && other.sub === peer.sub && other.peerId !== peer.peerId) {
          participants = without(participants, other.peerId);
        }
      }
      participants[peer.peerId] = participantOf(peer, state.participants[peer.peerId]);
      return { ...state, participants };
    }
    case 'peerLeft':
      if (!state.participants[event.peerId]) {
        return state;
      }
      return event.reason === 'disconnected'
        ? patch(state, event.peerId, { presence: 'reconnecting', producers: {} })
        : { ...state, participants: without(state.participants, event.peerId) };
    case 'peerGone':
      return state.participants[event.peerId]?.presence === 'reconnecting'
        ? { ...state, participants: without(state.participants, event.peerId) }
        : state;
    case 'presenceChanged':
      return state.participants[event.peerId]?.presence === 'reconnecting'
        ? state
        : patch(state, event.peerId, { presence: event.state });
    case 'attributesChanged':
      if (event.peerId === state.selfPeerId) {
        return { ...state, selfAttributes: event.attributes };
      }
      return patch(state, event.peerId, { attributes: event.attributes });
    case 'roleChanged':
      if (event.peerId === state.selfPeerId) {
        return state.role === event.role ? state : { ...state, role: event.role };
      }
      return patch(state, event.peerId, { role: event.role });
    case 'policyChanged':
      return state.policy === event.policy ? state : { ...state, policy: event.policy };
    case 'screenSharingChanged':
      return state.multipleScreenShares === event.multiple
        ? state
        : { ...state, multipleScreenShares: event.multiple };
    case 'selfUnmuteChanged':
      // Switched either way, earlier permissions are forgotten (as the server forgets them).
      return state.selfUnmuteAllowed === event.allowed
        ? state
        : {
            ...state,
            selfUnmuteAllowed: event.allowed,
            unmute: { ...state.unmute, granted: { audio: false, video: false } },
          };
    case 'mutedByHost':
      return state.unmute.locked[event.kind] === !event.canUnmute
        ? state
        : {
            ...state,
            unmute: { ...state.unmute, locked: { ...state.unmute.locked, [event.kind]: !event.canUnmute } },
          };
    case 'unmuteGranted':
      return !state.unmute.locked[event.kind] && state.unmute.granted[event.kind]
        ? state
        : {
            ...state,
            unmute: {
              locked: { ...state.unmute.locked, [event.kind]: false },
              granted: { ...state.unmute.granted, [event.kind]: true },
            },
          };
    case 'activeSpeaker':
      return state.activeSpeaker === event.peerId ? state : { ...state, activeSpeaker: event.peerId };
    case 'lobbyRequest':
      return { ...state, lobby: { ...state.lobby, [event.peer.peerId]: event.peer } };
    case 'lobbyLeft':
      return state.lobby[event.peerId] ? { ...state, lobby: without(state.lobby, event.peerId) } : state;
    case 'newProducer':
      return withProducer(state, event.producer);
    case 'producerClosed': {
      const participant = state.participants[event.peerId];
      if (!participant?.producers[event.producerId]) {
        return state;
      }
      return patch(state, event.peerId, { producers: without(participant.producers, event.producerId) });
    }
    case 'connectionLost':
      return { ...state, participants: {}, activeSpeaker: undefined, early: [] };
    case 'ended':
      return { ...state, participants: {}, lobby: {}, activeSpeaker: undefined, early: undefined };
    case 'producerPaused': {
      const participant = state.participants[event.peerId];
      const producer = participant?.producers[event.producerId];
      if (!producer || producer.paused === event.paused) {
        return state;
      }
      return patch(state, event.peerId, {
        producers: { ...participant.producers, [event.producerId]: { ...producer, paused: event.paused } },
      });
    }
  }
}

/**
 * Whether a participant turned its microphone (or camera) off: it sends one and every such
 * producer is paused. One that sends none (yet) is not shown as muted.
 */
export function isOff(participant: ParticipantState, source: 'microphone' | 'camera'): boolean {
  const producers = Object.values(participant.producers).filter((p) => p.source === source);
  return producers.length > 0 && producers.every((p) => p.paused);
}

/** Raised hands, first raised first: peer ids (ours included), by the server's time of raising. */
export function raisedHands(state: RoomState): string[] {
  const hands: [string, number][] = [];
  if (state.selfPeerId && state.selfAttributes.hand) {
    hands.push([state.selfPeerId, Number(state.selfAttributes.hand)]);
  }
  for (const participant of Object.values(state.participants)) {
    if (participant.attributes.hand && participant.presence !== 'reconnecting') {
      hands.push([participant.peerId, Number(participant.attributes.hand)]);
    }
  }
  return hands.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([peerId]) => peerId);
}
