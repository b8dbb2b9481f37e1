/**
 * The socket.io contract between browsers and the signaling service: event maps for both
 * directions and a zod schema for every request payload. Imported by the signaling server and by
 * the UI, so both sides agree at compile time.
 */
import { z } from 'zod';
import {
  dtlsParametersSchema,
  idSchema,
  mediaKindSchema,
  rtpCapabilitiesSchema,
  rtpParametersSchema,
  type DtlsParameters,
  type IceCandidate,
  type IceParameters,
  type MediaKind,
  type RtpCapabilities,
  type RtpParameters,
} from './rtp';

export * from './rtp';
export * from './media';
export * from './calls';
export * from './match';

/**
 * Room ids: the key of a room and the last part of its link (`/r/<id>`). New rooms get 24 random
 * base32 characters (120 bits, unguessable); rooms made before accounts existed keep their old
 * name as id. Lowercase letters, digits and dashes, 1–64 characters.
 */
export const roomIdSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/,
    'must be 1-64 lowercase letters, digits or dashes, not starting or ending with a dash',
  );

const noControlChars = (value: string) =>
  ![...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export const displayNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .refine(noControlChars, 'must not contain control characters');

/** A room's name is a label people read (the id is the key). */
export const roomLabelSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(80, 'must be at most 80 characters')
  .refine(noControlChars, 'must not contain control characters');

/** What people call each kind of media in messages ("a host muted your microphone"). */
export const MEDIA_KIND_NAMES: Record<MediaKind, string> = { audio: 'microphone', video: 'camera' };

/** Where a track comes from: each participant has at most one producer of each. */
export const mediaSourceSchema = z.enum(['microphone', 'camera', 'screen']);
export type MediaSource = z.infer<typeof mediaSourceSchema>;

/** The source a producer of `kind` has when its `produce` request names none. */
export const DEFAULT_SOURCE: Record<MediaKind, MediaSource> = { audio: 'microphone', video: 'camera' };

/**
 * Who may join: anyone with the link, guests after a host admits them, nobody new, or (private)
 * only those holding a join token made for them (the server API's, the matchmaker's): the link
 * alone gets no token.
 */
export const roomPolicySchema = z.enum(['open', 'lobby', 'locked', 'private']);
export type RoomPolicy = z.infer<typeof roomPolicySchema>;
/** The policies a host chooses in the UI and the gateway's REST API (private rooms are made by the server API). */
export const hostPolicySchema = z.enum(['open', 'lobby', 'locked']);
export type HostPolicy = z.infer<typeof hostPolicySchema>;

/** Where a participant's attention is: in the call, or away (tab hidden, idle). */
export const presenceStateSchema = z.enum(['active', 'away']);
export type PresenceState = z.infer<typeof presenceStateSchema>;

/**
 * Participant attributes (as LiveKit's `setAttributes`): small string key/values each participant
 * carries, seen by everyone in the room, changed with one `setAttributes` request and announced
 * with one `attributesChanged` event. Per-participant features ride on them (raise hand is the
 * `hand` key) without new plumbing. A participant sets its own keys; hosts may change the keys
 * ATTRIBUTE_RULES lets them for others.
 */
export const ATTRIBUTE_LIMITS = { keys: 16, keyLength: 40, valueLength: 256, totalChars: 2048 } as const;
export const attributeKeySchema = z
  .string()
  .regex(
    new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,${ATTRIBUTE_LIMITS.keyLength - 1}}$`),
    `must be 1-${ATTRIBUTE_LIMITS.keyLength} letters, digits, dots, dashes or underscores`,
  );
export const attributeValueSchema = z
  .string()
  .max(ATTRIBUTE_LIMITS.valueLength, `must be at most ${ATTRIBUTE_LIMITS.valueLength} characters`)
  .refine(noControlChars, 'must not contain control characters');

/** Why a whole set of attributes does not fit: too many keys, or too many characters in all. */
export const ATTRIBUTES_TOO_BIG = {
  keys: `a participant has at most ${ATTRIBUTE_LIMITS.keys} attributes`,
  size: `a participant's attributes hold at most ${ATTRIBUTE_LIMITS.totalChars} characters`,
} as const;

/** Whether a whole set of attributes fits the limits (number of keys and total size). */
export function attributesFit(attributes: Record<string, string>): string | undefined {
  const keys = Object.keys(attributes);
  if (keys.length > ATTRIBUTE_LIMITS.keys) {
    return ATTRIBUTES_TOO_BIG.keys;
  }
  const size = keys.reduce((sum, key) => sum + key.length + attributes[key].length, 0);
  if (size > ATTRIBUTE_LIMITS.totalChars) {
    return ATTRIBUTES_TOO_BIG.size;
  }
  return undefined;
}

export const participantAttributesSchema = z.record(attributeKeySchema, attributeValueSchema);
export type ParticipantAttributes = Record<string, string>;

/**
 * Keys with a meaning the server enforces. `hand`: raised when present; its value is the server's
 * time of raising (epoch ms, whatever the client sent: the queue order cannot be faked); a host
 * may lower it for anyone. Keys not listed are the participant's own (hosts cannot touch them).
 */
export const ATTRIBUTE_RULES: Record<string, { value: 'serverTime'; hostMay: 'clear' }> = {
  hand: { value: 'serverTime', hostMay: 'clear' },
};

/**
 * Reactions: emoji that float over the sender's tile for everyone for a few seconds (not stored).
 * A fixed set, so nothing else can be shown to others.
 */
export const REACTIONS = {
  '👍': 'thumbs up',
  '👏': 'applause',
  '😂': 'laughter',
  '❤️': 'heart',
  '🎉': 'celebration',
  '😮': 'surprise',
} as const;
export type Reaction = keyof typeof REACTIONS;
export const reactionSchema = z.enum(Object.keys(REACTIONS) as [Reaction, ...Reaction[]]);

/** A participant's role in one room. */
export const roleSchema = z.enum(['host', 'participant', 'guest']);
export type Role = z.infer<typeof roleSchema>;

/** What a join token grants: one identity, one room, one role. */
export interface JoinGrants {
  /** The room id. */
  room: string;
  /** `user:<uuid>` for an account, `guest:<uuid>` for a guest. */
  sub: string;
  name: string;
  role: Role;
  canPublish: boolean;
  canSubscribe: boolean;
}

/** State-changing REST requests carry this header (with any value): a cross-site form cannot. */
export const CSRF_HEADER = 'x-switchboard-request';

/** REST bodies of the account API (the gateway validates them; the UI's forms match). */
export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email('must be an email address'));
export const passwordSchema = z
  .string()
  .min(10, 'must be at least 10 characters')
  .max(256, 'must be at most 256 characters');

/** The longest chat message, in characters. */
export const CHAT_MAX_CHARS = 4000;

/**
 * A chat message's text: trimmed, 1 to CHAT_MAX_CHARS characters, no control characters but
 * newlines and tabs. Rendered as text everywhere (never as HTML).
 */
export const chatBodySchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(CHAT_MAX_CHARS, `must be at most ${CHAT_MAX_CHARS} characters`)
  .refine(
    (value) =>
      ![...value].some(
        (c) => (c.charCodeAt(0) < 0x20 && c !== '\n' && c !== '\t') || c.charCodeAt(0) === 0x7f,
      ),
    'must not contain control characters',
  );

/** What people type in the chat search box (web-search syntax). */
export const chatSearchQuerySchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters');

/** A message's place in its room: 1, 2, 3, ... (the order everyone sees). */
export const chatSeqSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/**
 * Every request may carry the browser's correlation id; the server makes one when absent. Request
 * payloads are strict: an unknown key is an error, never silently dropped.
 */
const base = { correlationId: z.string().min(1).max(64).optional() };

export const requestSchemas = {
  getRouterRtpCapabilities: z.strictObject({ ...base }),
  /**
   * `transports`: the answer also carries your transports (a sending one when you may publish, a
   * receiving one with paused consumers of every producer already there when you may subscribe),
   * so joining needs no `createWebRtcTransport` round trip.
   */
  join: z.strictObject({
    ...base,
    rtpCapabilities: rtpCapabilitiesSchema,
    transports: z.boolean().optional(),
  }),
  /**
   * Before `join`, while the camera preview shows: your receiving transport, made now with a data
   * consumer whose set-up brings it up (ICE, DTLS) before there is media; `join { transports: true }`
   * then answers with this transport and its consumers. Only where `join` would let you straight
   * in (not a lobby you have not passed, not a locked room), once per connection.
   */
  prepare: z.strictObject({ ...base }),
  /**
   * `consumeExisting` (receiving transport only): the answer also carries a paused consumer of
   * every producer already in the room, so joining needs no `consume` per producer.
   */
  createWebRtcTransport: z
    .strictObject({ ...base, producing: z.boolean(), consumeExisting: z.boolean().optional() })
    .refine((p) => !(p.producing && p.consumeExisting), {
      message: 'consumeExisting is for the receiving transport (producing: false)',
      path: ['consumeExisting'],
    }),
  connectWebRtcTransport: z.strictObject({
    ...base,
    transportId: idSchema,
    dtlsParameters: dtlsParametersSchema,
  }),
  /** New ICE parameters for one of your transports whose connection went `disconnected`/`failed`. */
  restartIce: z.strictObject({ ...base, transportId: idSchema }),
  /** `source` (default: microphone for audio, camera for video): `screen` is a screen share. */
  produce: z
    .strictObject({
      ...base,
      transportId: idSchema,
      kind: mediaKindSchema,
      rtpParameters: rtpParametersSchema,
      paused: z.boolean().optional(),
      source: mediaSourceSchema.optional(),
    })
    .refine((p) => !p.source || (p.source === 'microphone') === (p.kind === 'audio'), {
      message: 'source must be microphone for audio, camera or screen for video',
      path: ['source'],
    }),
  closeProducer: z.strictObject({ ...base, producerId: idSchema }),
  pauseProducer: z.strictObject({ ...base, producerId: idSchema }),
  resumeProducer: z.strictObject({ ...base, producerId: idSchema }),
  consume: z.strictObject({ ...base, transportId: idSchema, producerId: idSchema }),
  resumeConsumer: z.strictObject({ ...base, consumerId: idSchema }),
  /** Resumes several of your consumers at once (those `createWebRtcTransport` made). */
  resumeConsumers: z.strictObject({ ...base, consumerIds: z.array(idSchema).min(1).max(100) }),
  /**
   * How one of your consumers' tiles is shown: `visible` false (scrolled away, tab hidden) pauses
   * it; otherwise its simulcast layer follows the tile's height in CSS pixels times the device
   * pixel ratio (a small tile gets the low layer, a large one the full resolution).
   */
  consumerView: z.strictObject({
    ...base,
    consumerId: idSchema,
    visible: z.boolean(),
    height: z.number().int().min(0).max(10_000),
  }),
  /** Statistics of your own transports, producers and consumers (quality indicator, stats panel). */
  getStats: z.strictObject({ ...base }),
  /**
   * How long after joining the first video of another participant was decoded (ms): the "time to
   * first frame" SLI. Counted once per join; later reports are answered `recorded: false`.
   */
  reportFirstFrame: z.strictObject({ ...base, ms: z.number().int().min(0).max(120_000) }),
  leave: z.strictObject({ ...base }),
  // Host controls: refused (PERMISSION_DENIED) unless the sender is a host of the room.
  /** Pauses a participant's microphone or camera on the media node; they may unmute unless disabled. */
  hostMute: z.strictObject({
    ...base,
    peerId: idSchema,
    kind: mediaKindSchema,
    disableUnmute: z.boolean().optional(),
  }),
  /** Mutes everyone but you (each as `hostMute`; `disableUnmute`: they may not unmute themselves). */
  hostMuteAll: z.strictObject({ ...base, kind: mediaKindSchema, disableUnmute: z.boolean().optional() }),
  /** Asks a participant to unmute (lifting a lock you set); they decide (`unmuteRequested`). */
  hostAskToUnmute: z.strictObject({ ...base, peerId: idSchema, kind: mediaKindSchema }),
  /** Lets a participant unmute again after `hostMute` with `disableUnmute`. */
  hostAllowUnmute: z.strictObject({ ...base, peerId: idSchema, kind: mediaKindSchema }),
  /** Removes a participant: their socket closes and their join token stops working. */
  removePeer: z.strictObject({ ...base, peerId: idSchema }),
  admit: z.strictObject({ ...base, peerId: idSchema }),
  deny: z.strictObject({ ...base, peerId: idSchema }),
  /** `locked` refuses new joins, `lobby` makes guests wait, `open` lets anyone with the link in. */
  setPolicy: z.strictObject({ ...base, policy: hostPolicySchema }),
  promote: z.strictObject({ ...base, peerId: idSchema }),
  /** Ends the meeting for everyone in it. */
  endMeeting: z.strictObject({ ...base }),
  /** Lets several participants share their screens at once (`multiple`), or one at a time (default). */
  setScreenSharing: z.strictObject({ ...base, multiple: z.boolean() }),
  setSelfUnmute: z.strictObject({ ...base, allowed: z.boolean() }),
  /** Tells the room whether you are in the call or away (tab hidden, idle). */
  setPresence: z.strictObject({ ...base, state: presenceStateSchema }),
  /** Sends a reaction to everyone in the room (rate-limited per participant; nothing is stored). */
  react: z.strictObject({ ...base, emoji: reactionSchema }),
  /**
   * Changes attributes (`null` removes a key) of yourself, or of `peerId` (hosts, for the keys
   * ATTRIBUTE_RULES allows them). Raise hand: `{ hand: '1' }`; lower: `{ hand: null }`.
   */
  setAttributes: z.strictObject({
    ...base,
    peerId: idSchema.optional(),
    attributes: z
      .record(attributeKeySchema, attributeValueSchema.nullable())
      .refine(
        (changes) => Object.keys(changes).length >= 1 && Object.keys(changes).length <= ATTRIBUTE_LIMITS.keys,
        `change 1-${ATTRIBUTE_LIMITS.keys} attributes at once`,
      ),
  }),
  // Chat (docs/signaling-protocol.md#chat): acknowledged only after the message is in Postgres.
  /**
   * Sends a message to the room, or privately to one participant (`to`: their peer id). `clientId`
   * is the sender's own id for the message (a UUID, v7 in our UI): sending it again is answered
   * with the stored message, never stored twice.
   */
  chatSend: z.strictObject({
    ...base,
    clientId: z.uuid('must be a UUID'),
    body: chatBodySchema,
    to: idSchema.optional(),
  }),
  /** Replaces the text of one of your messages. */
  chatEdit: z.strictObject({ ...base, seq: chatSeqSchema, body: chatBodySchema }),
  /** Deletes one of your messages (everyone sees that it was deleted). */
  chatDelete: z.strictObject({ ...base, seq: chatSeqSchema }),
  /** The newest messages (at most `limit`), or those before `before`: scroll back by sequence. */
  chatHistory: z.strictObject({
    ...base,
    before: chatSeqSchema.optional(),
    limit: z.number().int().min(1).max(100).optional(),
  }),
  /** Every change after revision `after` you may see (new, edited, deleted): fills a gap. */
  chatSync: z.strictObject({
    ...base,
    after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    limit: z.number().int().min(1).max(500).optional(),
  }),
  /** Full-text search of the messages you may see (web-search syntax: "quotes", or, -word). */
  chatSearch: z.strictObject({
    ...base,
    q: chatSearchQuerySchema,
    limit: z.number().int().min(1).max(50).optional(),
  }),
  /** "I am typing" (to the room, or to the participant `to`); repeated at most every 2 s. */
  chatTyping: z.strictObject({ ...base, to: idSchema.optional() }),
} as const;

export type RequestName = keyof typeof requestSchemas;
export type RequestPayload<E extends RequestName> = z.input<(typeof requestSchemas)[E]>;

/**
 * Why a participant left: `left` on purpose (or was removed), `disconnected` when the connection
 * dropped (show them as reconnecting for a while: they usually come back as a new peer with the
 * same `sub`).
 */
export type LeaveReason = 'left' | 'disconnected';

export interface PeerInfo {
  peerId: string;
  displayName: string;
  role: Role;
  /** The identity (`user:<uuid>` / `guest:<uuid>`): the same person across reconnects. */
  sub?: string;
  presence?: PresenceState;
  /** Its attributes (`hand` when its hand is up); absent: none. */
  attributes?: ParticipantAttributes;
}

export interface ProducerInfo {
  producerId: string;
  peerId: string;
  kind: MediaKind;
  /** Absent from producers announced before sources existed: the kind's default. */
  source?: MediaSource;
  paused: boolean;
}

/** A transport's SCTP side (mediasoup-client's `sctpParameters`). */
export interface SctpParameters {
  port: number;
  OS: number;
  MIS: number;
  maxMessageSize: number;
}

export interface TransportInfo {
  id: string;
  iceParameters: IceParameters;
  iceCandidates: IceCandidate[];
  dtlsParameters: DtlsParameters;
  /** A transport made by `prepare` carries data channels too. */
  sctpParameters?: SctpParameters;
  /** With `consumeExisting`: paused consumers of the producers already there. */
  consumers?: ConsumerInfo[];
}

/** `prepare`'s answer: the receiving transport and the data consumer that brings it up. */
export interface PreparedTransport extends TransportInfo {
  sctpParameters: SctpParameters;
  dataConsumer: { id: string; dataProducerId: string; streamId: number; label: string };
}

export interface ConsumerInfo {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: MediaKind;
  source?: MediaSource;
  rtpParameters: RtpParameters;
  producerPaused: boolean;
}

export interface JoinResult {
  status: 'joined';
  roomId: string;
  peerId: string;
  displayName: string;
  role: Role;
  policy: RoomPolicy;
  canPublish: boolean;
  canSubscribe: boolean;
  peers: PeerInfo[];
  producers: ProducerInfo[];
  /** Who is speaking now (the room's loudest microphone), if anyone spoke yet. */
  activeSpeaker?: string;
  /** Whether several people may share their screens at once (a host's choice). */
  multipleScreenShares: boolean;
  /** Whether participants may turn their microphones on themselves (a host's choice; hosts always may). */
  selfUnmuteAllowed: boolean;
  /** Who waits in the lobby (hosts only; empty for everyone else). */
  lobby: PeerInfo[];
  /**
   * With `transports`: the ones the media node could make (`recv` with `consumers`); one missing
   * is made with `createWebRtcTransport` as usual.
   */
  transports?: { send?: TransportInfo; recv?: TransportInfo };
}

/** The room's lobby holds this peer until a host admits it (`admitted`, then `join` again) or not. */
export interface LobbyWait {
  status: 'lobby';
  roomId: string;
  peerId: string;
}

/** Who sent or receives a chat message. */
export interface ChatParty {
  /** The account or guest identity (`user:<uuid>` / `guest:<uuid>`, the join token's `sub`). */
  sub: string;
  /** The connection it was sent from / to (changes on every reconnect). */
  peerId: string;
  displayName: string;
}

/**
 * A chat message as everyone who may see it sees it. `seq` orders a room's messages; `rev` is the
 * room's change counter at its last change (sending, editing or deleting takes the next one), so
 * a client that tracks the revisions it has seen can tell when it missed one and ask `chatSync`.
 */
export interface ChatMessage {
  roomId: string;
  seq: number;
  rev: number;
  clientId: string;
  from: ChatParty;
  /** Private messages: the one recipient (only sender and recipient ever see the message). */
  to: ChatParty | null;
  /** Empty once deleted. */
  body: string;
  sentAt: string;
  editedAt: string | null;
  deleted: boolean;
}

/** A page of messages and the room's revision they bring the reader up to. */
export interface ChatPage {
  messages: ChatMessage[];
  /** Everything up to this revision that the reader may see is in this page or before it. */
  rev: number;
  /** There is more (older for history, newer for sync): ask again. */
  more: boolean;
}

/** A search result: the message and its matching passage, split into text and matched words. */
export interface ChatSearchHit {
  message: ChatMessage;
  snippet: { text: string; match: boolean }[];
  rank: number;
}

/** One RTP stream as the SFU measures it; scores go from 0 (unusable) to 10 (perfect). */
export interface RtpStreamStats {
  ssrc: number;
  rid?: string;
  packetCount: number;
  byteCount: number;
  /** bits per second */
  bitrate: number;
  packetsLost: number;
  /** 0..1 */
  fractionLost: number;
  jitter: number;
  /** ms */
  roundTripTime?: number;
  score: number;
}

/** `getStats`: what the SFU measures of your transports, producers and consumers. */
export interface PeerStats {
  transports: {
    transportId: string;
    producing: boolean;
    iceState: string;
    dtlsState: string;
    bytesReceived: number;
    bytesSent: number;
    recvBitrate: number;
    sendBitrate: number;
    availableOutgoingBitrate: number;
    /** The path ICE picked: the peer's address as the SFU sees it (a TURN relay's, if relayed). */
    remoteIp?: string;
    remotePort?: number;
    protocol?: string;
  }[];
  producers: {
    producerId: string;
    kind: MediaKind;
    paused: boolean;
    type: string;
    /** One per simulcast encoding. */
    streams: RtpStreamStats[];
  }[];
  consumers: {
    consumerId: string;
    producerId: string;
    /** Whose media it is. */
    peerId: string;
    kind: MediaKind;
    paused: boolean;
    producerPaused: boolean;
    /** How well you receive it and how well its sender sends it (0..10). */
    score: number;
    producerScore: number;
    currentSpatialLayer?: number;
    currentTemporalLayer?: number;
    preferredSpatialLayer?: number;
    stream?: RtpStreamStats;
  }[];
}

/** A TURN server as RTCPeerConnection's `iceServers` takes it (credentials expire). */
export interface IceServer {
  urls: string[];
  username: string;
  credential: string;
}

/** One participant's microphone level in `audioLevels`. */
export interface AudioLevel {
  peerId: string;
  /** dBov, -127 (silence) to 0. */
  volume: number;
}

/** What each request answers with. */
export interface ResponseMap {
  getRouterRtpCapabilities: { rtpCapabilities: RtpCapabilities };
  join: JoinResult | LobbyWait;
  prepare: PreparedTransport;
  createWebRtcTransport: TransportInfo;
  connectWebRtcTransport: Record<string, never>;
  restartIce: { iceParameters: IceParameters };
  produce: { producerId: string };
  closeProducer: Record<string, never>;
  pauseProducer: Record<string, never>;
  resumeProducer: Record<string, never>;
  consume: ConsumerInfo;
  resumeConsumer: Record<string, never>;
  resumeConsumers: Record<string, never>;
  consumerView: Record<string, never>;
  getStats: PeerStats;
  reportFirstFrame: { recorded: boolean };
  leave: Record<string, never>;
  hostMute: Record<string, never>;
  hostAllowUnmute: Record<string, never>;
  hostMuteAll: { muted: number };
  hostAskToUnmute: Record<string, never>;
  removePeer: Record<string, never>;
  admit: Record<string, never>;
  deny: Record<string, never>;
  setPolicy: Record<string, never>;
  promote: Record<string, never>;
  endMeeting: Record<string, never>;
  setScreenSharing: Record<string, never>;
  setSelfUnmute: Record<string, never>;
  setPresence: Record<string, never>;
  setAttributes: { attributes: ParticipantAttributes };
  react: Record<string, never>;
  /** `duplicate`: this clientId was stored before (a retry); the stored message is returned. */
  chatSend: { message: ChatMessage; duplicate: boolean };
  chatEdit: { message: ChatMessage };
  chatDelete: { message: ChatMessage };
  /** Oldest first. */
  chatHistory: ChatPage;
  /** By revision. */
  chatSync: ChatPage;
  chatSearch: { results: ChatSearchHit[] };
  /** `sent` false when dropped by the throttle (too soon after the last one). */
  chatTyping: { sent: boolean };
}

export interface AckError {
  /** An `ErrorCode` of `@switchboard/errors` (a string on the wire: read it with `toErrorCode`). */
  code: string;
  message: string;
  correlationId?: string;
  /** For RESOURCE_EXHAUSTED: when trying again may succeed. */
  retryAfterSeconds?: number;
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: AckError };

export type ClientToServerEvents = {
  [E in RequestName]: (payload: RequestPayload<E>, ack: (response: Ack<ResponseMap[E]>) => void) => void;
};

export interface ServerToClientEvents {
  peerJoined: (event: PeerInfo) => void;
  peerLeft: (event: { peerId: string; reason: LeaveReason }) => void;
  presenceChanged: (event: { peerId: string; state: PresenceState }) => void;
  /** Someone (you included) sent a reaction. */
  reaction: (event: { peerId: string; emoji: Reaction }) => void;
  /** A participant's attributes changed: all of them now, and what changed (`null`: removed). */
  attributesChanged: (event: {
    peerId: string;
    attributes: ParticipantAttributes;
    changed: Record<string, string | null>;
  }) => void;
  newProducer: (event: ProducerInfo) => void;
  producerClosed: (event: { producerId: string; peerId: string }) => void;
  producerPaused: (event: { producerId: string; peerId: string; paused: boolean }) => void;
  consumerClosed: (event: { consumerId: string; producerId: string }) => void;
  /** The room's loudest participant changed. */
  activeSpeaker: (event: { peerId: string }) => void;
  /** Microphone levels of everyone audible, loudest first, a few times a second; `[]`: silence. */
  audioLevels: (event: { levels: AudioLevel[] }) => void;
  /**
   * The call cannot go on here; the socket closes next. `final` when a host ended the meeting (do
   * not rejoin); otherwise the media node lost the room (rejoin).
   */
  callEnded: (event: { reason: string; final?: boolean }) => void;
  /** To hosts: someone is waiting in the lobby. */
  lobbyRequest: (event: PeerInfo) => void;
  /** To hosts: someone left the lobby (admitted, denied, or gone). */
  lobbyLeft: (event: { peerId: string; outcome: 'admitted' | 'denied' | 'left' }) => void;
  /** To the waiting peer: a host let it in; send `join` again. */
  admitted: (event: Record<string, never>) => void;
  /** To the waiting peer: a host said no; the socket closes next. */
  denied: (event: { reason: string }) => void;
  /** To the participant a host muted. `canUnmute` false until `unmuteAllowed`. */
  mutedByHost: (event: { kind: MediaKind; canUnmute: boolean }) => void;
  unmuteAllowed: (event: { kind: MediaKind }) => void;
  /** To a participant: a host asks you to turn this back on (you may, or not). */
  unmuteRequested: (event: { kind: MediaKind }) => void;
  /** To a participant a host removed; the socket closes next and its token no longer works. */
  removed: (event: { reason: string }) => void;
  roleChanged: (event: { peerId: string; role: Role }) => void;
  policyChanged: (event: { policy: RoomPolicy }) => void;
  /** A host let several people share their screens at once, or went back to one at a time. */
  screenSharingChanged: (event: { multiple: boolean }) => void;
  /** A host let participants turn their microphones on themselves, or not (`join` has it too). */
  selfUnmuteChanged: (event: { allowed: boolean }) => void;
  /**
   * A new, edited or deleted chat message you may see (not to the socket whose request changed it:
   * that one has it in the acknowledgement).
   */
  chatMessage: (event: ChatMessage) => void;
  /** The room's chat moved to `rev` with a change you may not see (others' private message). */
  chatRev: (event: { rev: number }) => void;
  chatTyping: (event: { peerId: string; displayName: string; private: boolean }) => void;
}

/** Socket.io handshake `auth` payload. */
export interface HandshakeAuth {
  token: string;
}
export * from './SignalingConnection';
