/**
 * The browser side of a call, split by concern as LiveKit's client is: it gets a join token from
 * the gateway, opens a socket to signaling (requests through a `SignalingConnection`), keeps the
 * room as the server's events say in a `RoomState` reducer, and leaves the media to a
 * `MediaSession` per attempt. When the connection is lost (signaling restarted, the media node lost
 * the room, ICE failed) it rejoins as its `ReconnectPolicy` says, keeping the local tracks and the
 * mute state, and reports `reconnecting` meanwhile. The UI renders `snapshot()` whenever `onChange`
 * fires; the words it shows are the components' (notices here are data).
 */
import { io, type Socket } from 'socket.io-client';
import {
  SignalingConnection,
  type ClientToServerEvents,
  type IceServer,
  type MediaKind,
  type ParticipantAttributes,
  type Reaction,
  type PeerInfo,
  type PeerStats,
  type PresenceState,
  type RequestName,
  type RequestPayload,
  type ResponseMap,
  type Role,
  type RoomPolicy,
  type ServerToClientEvents,
} from '@switchboard/protocol';
import { AppError, toErrorCode } from '@switchboard/errors';
import { api } from './api';
import { ChatClient, type ChatSnapshot } from './ChatClient';
import { MediaSession, type LocalKind, type MediaSessionEvents, type TileView } from './MediaSession';
import { ReconnectPolicy } from './ReconnectPolicy';
import {
  initialRoomState,
  isOff,
  raisedHands,
  reduce,
  unmuteLocked,
  type RoomEvent,
  type RoomState,
} from './RoomState';

export type { TileView };

export interface RemoteParticipant {
  peerId: string;
  displayName: string;
  role: Role;
  /** The same person across reconnects (a new peer id each time). */
  sub?: string;
  /** In the call, away (tab hidden, idle), or its connection dropped and it is expected back. */
  presence: PresenceState | 'reconnecting';
  /** Its attributes (`hand`: raised, with the server's time of raising). */
  attributes: Readonly<ParticipantAttributes>;
  stream: MediaStream;
  /** Their screen share, while they share. */
  screen?: MediaStream;
  audioMuted: boolean;
  videoOff: boolean;
}

/** Something a host did to our media, or a share the room refused: the UI words it. */
export type CallNotice =
  | { type: 'mutedByHost'; kind: MediaKind; canUnmute: boolean }
  /** A host asks us to turn `kind` on (`alreadyOn`: it was on when they asked). */
  | { type: 'unmuteRequested'; kind: MediaKind; alreadyOn: boolean }
  | { type: 'unmuteAllowed'; kind: MediaKind }
  /** We tried to turn `kind` on while a host holds it off. */
  | { type: 'unmuteLocked'; kind: MediaKind }
  /** A screen share that was on before a reconnect could not go on again. */
  | { type: 'screenShareStopped'; reason: string };

export interface CallSnapshot {
  /**
   * `lobby`: waiting for a host; `ended`: the call is over for this participant (removed, denied,
   * ended by a host, refused) and will not reconnect by itself.
   */
  status: 'connecting' | 'lobby' | 'joined' | 'reconnecting' | 'left' | 'ended' | 'failed';
  /** Why the connection dropped (`reconnecting`), or why rejoining failed (`failed`). */
  lostReason?: string;
  /** Why the call ended (status `ended`). */
  endedReason?: string;
  selfPeerId?: string;
  role: Role;
  policy?: RoomPolicy;
  participants: RemoteParticipant[];
  /** People waiting in the lobby (hosts see them). */
  lobby: PeerInfo[];
  micMuted: boolean;
  cameraOff: boolean;
  /** A host holds this off: muted without allowing unmute, or self-unmute is off for the room. */
  unmuteLocked: Record<MediaKind, boolean>;
  /** Whether participants may turn their microphones on themselves (a host's switch). */
  selfUnmuteAllowed: boolean;
  /** Whether our join token lets us send media (false: we watch and listen only). */
  canPublish: boolean;
  /** The latest notice (a host muted us, asked us to unmute, …). */
  notice?: CallNotice;
  chat: ChatSnapshot;
  /** Whose microphone is loudest now (a remote peer id or `selfPeerId`). */
  activeSpeaker?: string;
  /** Microphone levels by peer id (dBov, -127..0); absent means silent. */
  levels: Record<string, number>;
  /** The SFU's latest measurements of this participant's media (every few seconds). */
  stats?: PeerStats;
  /** Our own screen share while we share. */
  screenShare?: MediaStream;
  /** A host lets several people share their screens at once. */
  multipleScreenShares: boolean;
  /** Our own attributes as the room has them. */
  selfAttributes: Readonly<ParticipantAttributes>;
  /** Raised hands, first raised first (peer ids, ours included). */
  hands: string[];
  /** Reactions on screen now, oldest first (ours included). */
  reactions: ShownReaction[];
}

export interface ShownReaction {
  readonly id: number;
  readonly peerId: string;
  readonly emoji: Reaction;
}

/** How long a reaction floats over its sender's tile, and how many show at once. */
const REACTION_SHOWN_MS = 4000;
const MAX_REACTIONS_SHOWN = 30;

/** A failed request or join: the server's error code (or ours), as every client sees it. */
export { AppError as CallError };

/** Performance marks ("sb:joined", …) for profiling the join path in the browser's dev tools. */
function mark(name: string): void {
  if (typeof performance !== 'undefined') {
    performance.mark(`sb:${name}`);
  }
}

/** The `sub` claim of a JWT (the browser only reads it; the server verifies the token). */
function subjectOf(token: string | undefined): string {
  try {
    const payload = token?.split('.')[1]?.replace(/-/g, '+').replace(/_/g, '/') ?? '';
    return (JSON.parse(atob(payload)) as { sub?: string }).sub ?? '';
  } catch {
    return '';
  }
}

/** One attempt at being in the call: a socket, requests over it, and the media it carries. */
interface Connection {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  /** Requests over `socket`: typed, with a deadline and a correlation id each. */
  signaling: SignalingConnection;
  media: MediaSession;
  dead: boolean;
  /**
   * Whether its requests are marked (`sb:→ join`, `sb:← join`): from the socket's opening until the
   * first video of the join is decoded (or given up on), so a long call does not pile marks up.
   */
  tracing: { on: boolean };
}

export interface CallOptions {
  room: string;
  displayName: string;
  /** The tracks to send at first (`setLocalTrack` replaces one). */
  localStream: MediaStream;
  onChange: () => void;
  /** Send and receive only through TURN (a network that blocks everything else; troubleshooting). */
  forceRelay?: boolean;
  /** When to try rejoining after the connection drops (default: `ReconnectPolicy`'s). */
  reconnectPolicy?: ReconnectPolicy;
  /**
   * A join token the user was invited with (an integrator's, from the server API): the gateway
   * checks it and adds TURN credentials, instead of issuing one for `displayName`.
   */
  inviteToken?: string;
}

interface KeptToken {
  token: string;
  expiresAt: number;
  /** The TURN servers and credentials that came with the token. */
  iceServers?: IceServer[];
}

/** How long someone whose connection dropped is shown as reconnecting before their tile goes. */
const RECONNECTING_SHOWN_MS = 20_000;

/** How often the SFU's stats are fetched while in the call. */
const STATS_EVERY_MS = 2000;
/** How long after joining the first frame of someone else is looked for (then: no video to report). */
const FIRST_FRAME_WAIT_MS = 60_000;

/** A join token is reused while it has this long left (an admitted guest stays admitted). */
const TOKEN_MARGIN_MS = 30_000;

/** The host controls `host()` sends. */
type HostRequest =
  | 'hostMute'
  | 'hostMuteAll'
  | 'hostAskToUnmute'
  | 'hostAllowUnmute'
  | 'removePeer'
  | 'admit'
  | 'deny'
  | 'setPolicy'
  | 'promote'
  | 'endMeeting'
  | 'setScreenSharing'
  | 'setSelfUnmute';

export class CallClient {
  readonly #opts: CallOptions;
  readonly #reconnectPolicy: ReconnectPolicy;
  /** The room as the server's events say (participants, lobby, policy, roles, hands, locks): one owner. */
  #room: RoomState = initialRoomState;
  /** Each remote participant's tracks (the room state has no media), by peer id. */
  readonly #media = new Map<string, { stream: MediaStream; screen?: MediaStream }>();
  readonly #paused = { audio: false, video: false };
  /** The tracks to send (the page replaces them when the person switches a device or an effect). */
  readonly #local: Partial<Record<LocalKind, MediaStreamTrack>> = {};
  #token?: KeptToken;
  #conn?: Connection;
  /** The connection `prepare()` is opening or opened, until `start()` takes it. */
  #prepared?: Promise<Connection | undefined>;
  #status: CallSnapshot['status'] = 'connecting';
  #lostReason?: string;
  #endedReason?: string;
  #notice?: CallNotice;
  /** Our peer id while waiting in the lobby (the room state has it once joined). */
  #waitingPeerId?: string;
  #presence: PresenceState = 'active';
  #closed = false;
  #levels: Record<string, number> = {};
  /** Reactions on screen now (each for REACTION_SHOWN_MS). */
  #reactions: ShownReaction[] = [];
  #reactionSeq = 0;
  #stats?: PeerStats;
  #statsTimer?: ReturnType<typeof setInterval>;
  /** How each remote participant's tile is shown (kept across reconnects: new consumers get it). */
  readonly #views = new Map<string, TileView>();
  /** The screen we share (kept across reconnects, produced again on each). */
  #screen?: MediaStream;
  /** The room's chat; it outlives connections (its outbox waits for the next one). */
  readonly chat: ChatClient;

  private constructor(opts: CallOptions) {
    this.#opts = opts;
    this.#reconnectPolicy = opts.reconnectPolicy ?? new ReconnectPolicy();
    for (const track of opts.localStream.getTracks()) {
      this.#local[track.kind as LocalKind] = track;
    }
    this.chat = new ChatClient(opts.room, () => this.#changed());
  }

  /** A client for `room` as `displayName`, sending the tracks of `localStream`; `start()` joins. */
  static create(opts: CallOptions): CallClient {
    return new CallClient(opts);
  }

  /**
   * Does before Join what needs no decision from the user — the join token, the socket, the
   * router's capabilities loaded into the device, the receiving transport brought up — so that
   * `start()` only joins. A failure here
   * is silent: `start()` then does it all itself and reports what goes wrong.
   */
  prepare(): void {
    if (this.#prepared || this.#conn || this.#closed) {
      return;
    }
    this.#prepared = this.#open().then(
      async (conn) => {
        // The receiving transport too, brought up now where the room lets us straight in (else
        // the join makes it, as on a reconnect).
        await conn.media
          .prepare({ iceServers: this.#token?.iceServers ?? [], forceRelay: this.#opts.forceRelay ?? false })
          .catch((error: unknown) => mark(`not prepared: ${(error as Error).message}`));
        mark('prepared');
        return conn;
      },
      () => undefined,
    );
  }

  /** Connects and joins (waiting in the lobby first when the room has one). */
  async start(): Promise<void> {
    mark('join');
    await this.#connect();
  }

  snapshot(): CallSnapshot {
    const room = this.#room;
    return {
      status: this.#status,
      lostReason: this.#lostReason,
      endedReason: this.#endedReason,
      selfPeerId: room.selfPeerId ?? this.#waitingPeerId,
      role: room.role,
      policy: room.policy,
      participants: Object.values(room.participants).map((p) => {
        const media = this.#mediaOf(p.peerId);
        return {
          peerId: p.peerId,
          displayName: p.displayName,
          role: p.role,
          sub: p.sub,
          presence: p.presence,
          attributes: p.attributes,
          stream: media.stream,
          screen: media.screen,
          audioMuted: isOff(p, 'microphone'),
          videoOff: isOff(p, 'camera'),
        };
      }),
      lobby: Object.values(room.lobby),
      micMuted: this.#paused.audio,
      cameraOff: this.#paused.video,
      unmuteLocked: { audio: unmuteLocked(room, 'audio'), video: unmuteLocked(room, 'video') },
      selfUnmuteAllowed: room.selfUnmuteAllowed,
      canPublish: room.canPublish,
      notice: this.#notice,
      chat: this.chat.snapshot(),
      activeSpeaker: room.activeSpeaker,
      levels: this.#levels,
      stats: this.#stats,
      screenShare: this.#screen,
      multipleScreenShares: room.multipleScreenShares,
      selfAttributes: room.selfAttributes,
      reactions: this.#reactions,
      hands: raisedHands(room),
    };
  }

  /**
   * Sends `track` instead of the current one of its kind (another camera or microphone, or the
   * same through an effect): swapped on the live producer, no renegotiation, so the others' view
   * goes on. Kept for every later (re)join.
   */
  async setLocalTrack(kind: LocalKind, track: MediaStreamTrack | undefined): Promise<void> {
    if (this.#local[kind] === track) {
      return;
    }
    if (track) {
      this.#local[kind] = track;
    } else {
      delete this.#local[kind];
    }
    await this.#conn?.media.replaceTrack(kind, track);
  }

  setMicrophoneMuted(muted: boolean): Promise<void> {
    return this.#setPaused('audio', muted);
  }

  setCameraOff(off: boolean): Promise<void> {
    return this.#setPaused('video', off);
  }

  /** Sends a reaction to everyone (refused when sent too often: RESOURCE_EXHAUSTED). */
  async react(emoji: Reaction): Promise<void> {
    await this.#send('react', { emoji });
  }

  /**
   * Changes our own attributes (`null` removes a key), or, as a host, lowers another's hand
   * (`{ hand: null }` with their peer id). Raise hand: `{ hand: '1' }`.
   */
  async setAttributes(attributes: Record<string, string | null>, peerId?: string): Promise<void> {
    await this.#send('setAttributes', peerId ? { peerId, attributes } : { attributes });
  }

  /** A host control (mute, remove, admit, deny, lock, promote, end, …); throws with the server's reason. */
  async host<E extends HostRequest>(event: E, payload: RequestPayload<E>): Promise<void> {
    await this.#send(event, payload);
  }

  /**
   * Shares a screen, window or tab the user picks (nothing happens if they cancel). Stopping it
   * from the browser's own "Stop sharing" bar ends the share like `stopScreenShare()`. Throws the
   * server's reason when it refuses (someone else is sharing).
   */
  async shareScreen(): Promise<void> {
    if (this.#screen) {
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({
        video: { frameRate: { ideal: 15, max: 30 } },
        audio: false,
      });
    } catch (error) {
      if ((error as Error).name === 'NotAllowedError') {
        return; // the user cancelled the picker
      }
      throw new AppError('UNAVAILABLE', `Cannot share the screen: ${(error as Error).message}`);
    }
    const track = stream.getVideoTracks()[0];
    track.contentHint = 'detail';
    track.addEventListener('ended', () => void this.stopScreenShare());
    this.#screen = stream;
    this.#changed();
    const conn = this.#conn;
    if (conn && !conn.dead && this.#status === 'joined') {
      try {
        await conn.media.produceScreen(track);
      } catch (error) {
        await this.stopScreenShare();
        throw error;
      }
    }
  }

  async stopScreenShare(): Promise<void> {
    const stream = this.#screen;
    if (!stream) {
      return;
    }
    this.#screen = undefined;
    stream.getTracks().forEach((t) => t.stop());
    this.#changed();
    await this.#conn?.media.closeScreen();
  }

  /**
   * Reports how `peerId`'s tile is shown: a hidden tile pauses its video, a visible one gets the
   * simulcast layer its height needs. Only changes that matter are sent.
   */
  setTileView(peerId: string, view: TileView, source: 'camera' | 'screen' = 'camera'): void {
    this.#views.set(`${peerId}:${source}`, view);
    this.#conn?.media.showTile(peerId, source, view);
  }

  /** This participant's own presence: sent now when connected, and after every (re)join. */
  setAway(away: boolean): void {
    const state: PresenceState = away ? 'away' : 'active';
    if (state === this.#presence) {
      return;
    }
    this.#presence = state;
    const conn = this.#conn;
    if (conn && !conn.dead && this.#status === 'joined') {
      conn.signaling.request('setPresence', { state }).catch(() => {});
    }
  }

  /** Leaves the room and closes everything; idempotent. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.chat.close();
    clearInterval(this.#statsTimer);
    this.#screen?.getTracks().forEach((t) => t.stop());
    this.#screen = undefined;
    void this.#prepared?.then((prepared) => prepared && this.#teardown(prepared, false));
    this.#prepared = undefined;
    const conn = this.#conn;
    if (conn && !conn.dead) {
      conn.dead = true;
      const { socket } = conn;
      if (socket.connected) {
        void conn.signaling.answer('leave', {}, { timeoutMs: 1000 }).then(() => socket.disconnect());
        setTimeout(() => socket.disconnect(), 1000);
      } else {
        socket.disconnect();
      }
      conn.media.close();
    }
    this.#status = 'left';
    this.#changed();
  }

  /** Applies one of the server's events to the room state; tells the page when it changed. */
  #dispatch(event: RoomEvent): void {
    const next = reduce(this.#room, event);
    if (next !== this.#room) {
      this.#room = next;
      this.#changed();
    }
  }

  #changed(): void {
    this.#opts.onChange();
  }

  #notify(notice: CallNotice | undefined): void {
    this.#notice = notice;
    this.#changed();
  }

  /** A participant's tracks (one stream object per participant, kept while it is in the call). */
  #mediaOf(peerId: string): { stream: MediaStream; screen?: MediaStream } {
    let media = this.#media.get(peerId);
    if (!media) {
      media = { stream: new MediaStream() };
      this.#media.set(peerId, media);
    }
    return media;
  }

  /** What a media session tells: remote tracks to the tiles, a lost media path to a rejoin. */
  #mediaEvents(): MediaSessionEvents {
    return {
      trackAdded: (peerId, source, track) => {
        const media = this.#mediaOf(peerId);
        if (source === 'screen') {
          media.screen = new MediaStream([track]);
        } else {
          // A new MediaStream object makes React (and the <video>) pick up the added track.
          media.stream = new MediaStream([...media.stream.getTracks(), track]);
        }
      },
      trackRemoved: (peerId, source, track) => {
        const media = this.#media.get(peerId);
        if (media && source === 'screen') {
          media.screen = undefined;
        } else if (media) {
          media.stream = new MediaStream(media.stream.getTracks().filter((t) => t !== track));
        }
        this.#changed();
      },
      producerSeen: (producer) => this.#dispatch({ type: 'newProducer', producer }),
      resumed: () => this.#changed(),
      failed: (reason) => {
        const conn = this.#conn;
        if (conn) {
          this.#connectionLost(conn, reason);
        }
      },
      mark,
    };
  }

  async #setPaused(kind: LocalKind, paused: boolean): Promise<void> {
    if (!paused && unmuteLocked(this.#room, kind)) {
      this.#notify({ type: 'unmuteLocked', kind });
      return;
    }
    this.#paused[kind] = paused;
    this.#notify(undefined);
    const conn = this.#conn;
    if (conn && !conn.dead) {
      await conn.media.setPaused(kind, paused); // else applied when the connection comes back
    }
  }

  /** A request on the live connection; UNAVAILABLE when there is none (reconnecting, left). */
  async #send<E extends RequestName>(event: E, payload: RequestPayload<E>): Promise<ResponseMap[E]> {
    const conn = this.#conn;
    if (!conn || conn.dead) {
      throw new AppError('UNAVAILABLE', 'not connected');
    }
    return conn.signaling.request(event, payload);
  }

  #pollStats(conn: Connection): void {
    clearInterval(this.#statsTimer);
    this.#statsTimer = setInterval(() => {
      if (conn.dead || this.#conn !== conn) {
        clearInterval(this.#statsTimer);
        return;
      }
      conn.signaling
        .request('getStats', {})
        .then((stats) => {
          this.#stats = stats;
          this.#changed();
        })
        .catch(() => {});
    }, STATS_EVERY_MS);
  }

  /**
   * Tells signaling how long after joining (`since`) the first video of someone else was decoded:
   * the "time to first frame" SLI. Looks every 100 ms for 60 s (nobody may be sending video).
   */
  async #reportFirstFrame(conn: Connection, since: number): Promise<void> {
    const until = since + FIRST_FRAME_WAIT_MS;
    try {
      while (!conn.dead && this.#conn === conn && performance.now() < until) {
        if (await conn.media.videoDecoded()) {
          mark('first frame');
          const ms = Math.round(performance.now() - since);
          await conn.signaling.request('reportFirstFrame', { ms }).catch(() => {});
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      conn.tracing.on = false;
    }
  }

  /** Where this tab keeps its join token, so a reload stays the same guest (chat identity, lobby). */
  get #tokenKey(): string {
    return this.#opts.inviteToken
      ? `sb:token:${this.#opts.room}:invite`
      : `sb:token:${this.#opts.room}:${this.#opts.displayName}`;
  }

  /** A join token: the last one while it is fresh, else a new one from the gateway. */
  async #joinToken(): Promise<string> {
    if (!this.#token) {
      try {
        const kept = JSON.parse(sessionStorage.getItem(this.#tokenKey) ?? 'null') as KeptToken | null;
        this.#token = kept ?? undefined;
      } catch {
        // no storage (or garbage in it): ask for a new token
      }
    }
    if (this.#token && this.#token.expiresAt - Date.now() > TOKEN_MARGIN_MS) {
      return this.#token.token;
    }
    const { room, displayName, inviteToken } = this.#opts;
    const response = await api(`/api/rooms/${encodeURIComponent(room)}/tokens`, {
      method: 'POST',
      body: inviteToken ? { token: inviteToken } : { displayName },
    });
    const body = (await response.json().catch(() => ({}))) as {
      token?: string;
      expiresAt?: string;
      iceServers?: IceServer[];
      message?: string;
      code?: string;
    };
    if (!response.ok || !body.token) {
      const message = body.message ?? `the gateway refused (${response.status})`;
      const code = body.code ? toErrorCode(body.code) : 'UNAVAILABLE';
      throw new AppError(code, message.charAt(0).toUpperCase() + message.slice(1));
    }
    this.#token = {
      token: body.token,
      expiresAt: new Date(body.expiresAt ?? 0).getTime(),
      iceServers: body.iceServers ?? [],
    };
    try {
      sessionStorage.setItem(this.#tokenKey, JSON.stringify(this.#token));
    } catch {
      // storage full or disabled: this page keeps it in memory
    }
    return body.token;
  }

  /**
   * The connection prepared before Join, if it is still good (its socket never dropped); else a
   * new one. Then join, transports, sending and receiving. Throws when any step fails.
   */
  async #connect(): Promise<void> {
    const prepared = await this.#prepared;
    this.#prepared = undefined;
    let conn: Connection;
    if (prepared?.socket.connected) {
      conn = prepared;
    } else {
      if (prepared) {
        this.#teardown(prepared, false);
      }
      conn = await this.#open();
    }
    if (this.#closed) {
      this.#teardown(conn, false); // closed while connecting: nobody wants this call any more
      throw new AppError('CANCELLED', 'the call was closed');
    }
    this.#conn = conn;
    try {
      await this.#join(conn);
    } catch (error) {
      this.#teardown(conn);
      throw error;
    }
  }

  /** Token, socket and a media session with the router's capabilities: all a join needs first. */
  async #open(): Promise<Connection> {
    const token = await this.#joinToken();
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
      path: '/socket.io',
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
    });
    const tracing = { on: true };
    const signaling = new SignalingConnection(socket, {
      onRoundTrip: (event, phase) => tracing.on && mark(`${phase === 'sent' ? '→' : '←'} ${event}`),
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (error) => {
          const code = toErrorCode((error as { data?: { code?: string } }).data?.code ?? 'UNAUTHENTICATED');
          if (code === 'UNAUTHENTICATED' || code === 'PERMISSION_DENIED') {
            this.#token = undefined; // expired, invalid or banned: ask for a new one next time
            sessionStorage.removeItem(this.#tokenKey);
          }
          reject(new AppError(code, error.message));
        });
      });
      const media = await MediaSession.load({ signaling, events: this.#mediaEvents(), views: this.#views });
      return { socket, signaling, media, dead: false, tracing };
    } catch (error) {
      socket.disconnect();
      throw error;
    }
  }

  /** The server's events, each to its owner: the room state, the media session, the call's status. */
  #listen(conn: Connection): void {
    const { socket, media } = conn;
    socket.on('disconnect', (reason) => this.#connectionLost(conn, `disconnected: ${reason}`));
    // Not final: the server lost this call's media and says rejoin now (no backoff first).
    socket.on('callEnded', ({ reason, final }) =>
      final ? this.#end(conn, reason) : this.#connectionLost(conn, reason, true),
    );
    socket.on('removed', ({ reason }) => this.#end(conn, reason));
    socket.on('denied', ({ reason }) => this.#end(conn, reason));
    socket.on('lobbyRequest', (peer) => this.#dispatch({ type: 'lobbyRequest', peer }));
    socket.on('lobbyLeft', ({ peerId }) => this.#dispatch({ type: 'lobbyLeft', peerId }));
    socket.on('policyChanged', ({ policy }) => this.#dispatch({ type: 'policyChanged', policy }));
    socket.on('roleChanged', ({ peerId, role }) => this.#dispatch({ type: 'roleChanged', peerId, role }));
    socket.on('attributesChanged', ({ peerId, attributes }) =>
      this.#dispatch({ type: 'attributesChanged', peerId, attributes }),
    );
    socket.on('mutedByHost', ({ kind, canUnmute }) => {
      this.#paused[kind] = true;
      media.pausedBySfu(kind);
      this.#dispatch({ type: 'mutedByHost', kind, canUnmute });
      this.#notify({ type: 'mutedByHost', kind, canUnmute });
    });
    socket.on('unmuteRequested', ({ kind }) => {
      this.#dispatch({ type: 'unmuteGranted', kind });
      this.#notify({ type: 'unmuteRequested', kind, alreadyOn: !this.#paused[kind] });
    });
    socket.on('unmuteAllowed', ({ kind }) => {
      this.#dispatch({ type: 'unmuteGranted', kind });
      this.#notify({ type: 'unmuteAllowed', kind });
    });
    socket.on('selfUnmuteChanged', ({ allowed }) => this.#dispatch({ type: 'selfUnmuteChanged', allowed }));
    socket.on('peerJoined', (peer) => this.#dispatch({ type: 'peerJoined', peer }));
    socket.on('peerLeft', ({ peerId, reason }) => {
      this.#dispatch({ type: 'peerLeft', peerId, reason });
      if (reason === 'disconnected') {
        // Shown as reconnecting until it is back (as a new peer, same identity) or gives up.
        setTimeout(() => {
          this.#dispatch({ type: 'peerGone', peerId });
          if (!this.#room.participants[peerId]) {
            this.#media.delete(peerId);
          }
        }, RECONNECTING_SHOWN_MS);
      } else {
        this.#media.delete(peerId);
      }
    });
    socket.on('presenceChanged', ({ peerId, state }) =>
      this.#dispatch({ type: 'presenceChanged', peerId, state }),
    );
    socket.on('newProducer', (producer) => {
      this.#dispatch({ type: 'newProducer', producer });
      if (this.#room.canSubscribe) {
        void media.consume(producer);
      }
    });
    socket.on('producerClosed', ({ producerId, peerId }) => {
      this.#dispatch({ type: 'producerClosed', producerId, peerId });
      media.removeProducer(producerId);
    });
    socket.on('consumerClosed', ({ producerId }) => media.removeProducer(producerId));
    socket.on('screenSharingChanged', ({ multiple }) =>
      this.#dispatch({ type: 'screenSharingChanged', multiple }),
    );
    socket.on('activeSpeaker', ({ peerId }) => this.#dispatch({ type: 'activeSpeaker', peerId }));
    socket.on('reaction', ({ peerId, emoji }) => this.#showReaction(peerId, emoji));
    socket.on('audioLevels', ({ levels }) => {
      this.#levels = Object.fromEntries(levels.map(({ peerId, volume }) => [peerId, volume]));
      this.#changed();
    });
    socket.on('producerPaused', ({ producerId, peerId, paused }) =>
      this.#dispatch({ type: 'producerPaused', producerId, peerId, paused }),
    );
  }

  #showReaction(peerId: string, emoji: Reaction): void {
    const shown = { id: ++this.#reactionSeq, peerId, emoji };
    this.#reactions = [...this.#reactions, shown].slice(-MAX_REACTIONS_SHOWN);
    this.#changed();
    setTimeout(() => {
      this.#reactions = this.#reactions.filter((r) => r !== shown);
      this.#changed();
    }, REACTION_SHOWN_MS);
  }

  /** Joins (after the lobby, when there is one), then sends and receives. */
  async #join(conn: Connection): Promise<void> {
    const { socket, signaling, media } = conn;
    this.#listen(conn);
    mark('connected');
    let since = performance.now();
    this.#dispatch({ type: 'connectionLost' }); // a previous attempt's view of the room is stale
    // The answer carries our transports too: one round trip from the click to receiving.
    const rtpCaps = { rtpCapabilities: media.rtpCapabilities as never, transports: true };
    let joined = await signaling.request('join', rtpCaps);
    while (joined.status === 'lobby') {
      this.#waitingPeerId = joined.peerId;
      this.#status = 'lobby';
      this.#changed();
      await new Promise<void>((resolve, reject) => {
        socket.once('admitted', () => resolve());
        socket.once('denied', ({ reason }) => reject(new AppError('PERMISSION_DENIED', reason)));
        socket.once('callEnded', ({ reason }) => reject(new AppError('UNAVAILABLE', reason)));
        socket.once('disconnect', () => reject(new AppError('UNAVAILABLE', 'disconnected while waiting')));
      });
      since = performance.now(); // admitted: the wait in the lobby is the host's, not ours
      joined = await signaling.request('join', rtpCaps);
    }
    this.#dispatch({ type: 'joined', result: joined });
    mark('joined');
    this.chat.attach({
      request: (event, payload) => signaling.request(event, payload),
      on: (event, listener) => socket.on(event, listener as never),
      sub: subjectOf(this.#token?.token),
    });
    // Both transports at once; then send and receive side by side, so the others' video does not
    // wait for our own DTLS handshake.
    const existing = await media.connect(
      {
        selfPeerId: joined.peerId,
        iceServers: this.#token?.iceServers ?? [],
        forceRelay: this.#opts.forceRelay ?? false,
      },
      joined.transports,
      { send: joined.canPublish, receive: joined.canSubscribe },
    );
    mark('transports');
    this.#status = 'joined';
    if (this.#presence === 'away') {
      signaling.request('setPresence', { state: 'away' }).catch(() => {});
    }
    this.#lostReason = undefined;
    this.#changed();
    this.#pollStats(conn);
    void this.#reportFirstFrame(conn, since);
    // A viewer's token (no sending) joins without producing; one that cannot receive, without consuming.
    const screen = joined.canPublish ? this.#screen?.getVideoTracks()[0] : undefined;
    await Promise.all([
      ...(joined.canPublish ? Object.values(this.#local) : []).map((track) =>
        media.produce(track, this.#paused[track.kind as LocalKind]),
      ),
      // A share that was on before a reconnect goes on again (the room may refuse it by now).
      screen &&
        media.produceScreen(screen).catch((error: unknown) => {
          this.#notify({ type: 'screenShareStopped', reason: (error as Error).message });
          void this.stopScreenShare();
        }),
      joined.canSubscribe && media.receive(existing, joined.producers),
    ]);
  }

  /** The call is over for us (removed, denied, ended by a host): no reconnecting. */
  #end(conn: Connection, reason: string): void {
    if (this.#closed || conn !== this.#conn) {
      return;
    }
    this.#closed = true;
    this.#teardown(conn);
    this.#media.clear();
    this.#dispatch({ type: 'ended' });
    this.#status = 'ended';
    this.#endedReason = reason;
    this.#changed();
  }

  /** The connection is gone: drop what it carried and rejoin as the reconnect policy says. */
  #connectionLost(conn: Connection, reason: string, rejoinNow = false): void {
    if (this.#closed || conn.dead || conn !== this.#conn) {
      return;
    }
    mark('lost');
    this.#teardown(conn);
    this.#media.clear();
    this.#dispatch({ type: 'connectionLost' });
    this.#status = 'reconnecting';
    this.#lostReason = reason;
    this.#changed();
    void this.#reconnect(rejoinNow);
  }

  async #reconnect(rejoinNow: boolean): Promise<void> {
    let error: unknown;
    for (let attempts = 0; ; attempts++) {
      const delay = this.#reconnectPolicy.nextDelayMs({ attempts, rejoinNow, error });
      if (delay === null) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.#closed) {
        return;
      }
      try {
        await this.#connect();
        mark('reconnected');
        return;
      } catch (failure) {
        error = failure;
      }
    }
    if (this.#closed) {
      return;
    }
    this.#status = 'failed';
    this.#lostReason = (error as Error | undefined)?.message ?? this.#lostReason;
    this.#changed();
  }

  /** Closes a connection; `attached` when the chat was using it (any that reached #join). */
  #teardown(conn: Connection, attached = true): void {
    if (attached) {
      this.chat.detach();
      this.#levels = {};
    }
    conn.dead = true;
    conn.socket.removeAllListeners();
    conn.socket.disconnect();
    conn.media.close();
  }
}
