/**
 * The browser side of a call: gets a join token from the gateway, connects to signaling over
 * socket.io, and sends/receives media through the SFU with mediasoup-client. The UI renders
 * `snapshot()` whenever `onChange` fires. When the connection is lost (signaling restarted, the
 * media node lost the room, ICE failed) it rejoins on its own with backoff, keeping the local
 * tracks and the mute state, and reports `reconnecting` meanwhile.
 */
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { io, type Socket } from 'socket.io-client';
import {
  cameraEncodings,
  MEDIA_KIND_NAMES,
  SignalingConnection,
  SignalingError as CallError,
  type ClientToServerEvents,
  DEFAULT_SOURCE,
  type ConsumerInfo,
  type IceServer,
  type MediaKind,
  type MediaSource,
  type ParticipantAttributes,
  type Reaction,
  type PeerInfo,
  type PeerStats,
  type PresenceState,
  type ProducerInfo,
  type RequestName,
  type RequestPayload,
  type ResponseMap,
  type Role,
  type RoomPolicy,
  type ServerToClientEvents,
} from '@switchboard/protocol';
import { api } from './api';
import { ChatClient, type ChatSnapshot } from './ChatClient';
import { initialRoomState, isOff, raisedHands, reduce, type RoomEvent, type RoomState } from './RoomState';

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

export interface CallSnapshot {
  /**
   * `lobby`: waiting for a host; `ended`: the call is over for this participant (removed, denied,
   * ended by a host, refused) and will not reconnect by itself.
   */
  status: 'connecting' | 'lobby' | 'joined' | 'reconnecting' | 'left' | 'ended' | 'failed';
  error?: string;
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
  /** A host muted this and did not allow unmuting. */
  unmuteLocked: Record<MediaKind, boolean>;
  /** The latest notice from a host ("A host muted your microphone"). */
  notice?: string;
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

/** How a tile is shown, reported so the SFU sends what it needs (nothing when hidden). */
export interface TileView {
  visible: boolean;
  /** Device pixels. */
  height: number;
}

/** A failed request or join: the server's error code (or ours), as every client sees it. */
export { CallError };

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

/** A consumer and whose track it carries; `resumed` once the SFU sends it. */
interface ConsumerEntry {
  consumer: types.Consumer;
  peerId: string;
  source: MediaSource;
  resumed: boolean;
}

/** One attempt at being in the call: a socket, a device, two transports and what runs on them. */
interface Connection {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  /** Requests over `socket`: typed, with a deadline and a correlation id each. */
  signaling: SignalingConnection;
  device: Device;
  send?: types.Transport;
  recv?: types.Transport;
  consumers: Map<string, ConsumerEntry>;
  /** The microphone and camera producers. */
  producers: Map<'audio' | 'video', types.Producer>;
  /** The screen share's producer. */
  screen?: types.Producer;
  /** Announced before the receiving transport existed: consumed as soon as it does. */
  waiting: ProducerInfo[];
  /** Producers consumed or being consumed (the join answer and newProducer may both name one). */
  consumed: Set<string>;
  dead: boolean;
}

export interface CallOptions {
  room: string;
  displayName: string;
  /** The tracks to send at first (`setLocalTrack` replaces one). */
  localStream: MediaStream;
  onChange: () => void;
  /** Send and receive only through TURN (a network that blocks everything else; troubleshooting). */
  forceRelay?: boolean;
}

interface KeptToken {
  token: string;
  expiresAt: number;
  /** The TURN servers and credentials that came with the token. */
  iceServers?: IceServer[];
}

/** How long someone whose connection dropped is shown as reconnecting before their tile goes. */
const RECONNECTING_SHOWN_MS = 20_000;

/** Waits between reconnection attempts (ms); after the last one the call has failed. */
const RECONNECT_DELAYS = [300, 1000, 2000, 4000, 8000, 8000, 8000];

/** ICE restarts tried on a transport whose connection dropped before the call rejoins from scratch. */
const ICE_RESTARTS = 2;

/** How often the SFU's stats are fetched while in the call. */
const STATS_EVERY_MS = 2000;

/** A tile's reported height must change by this share of the last one to be reported again. */
const VIEW_HEIGHT_STEP = 0.2;

/** A join token is reused while it has this long left (an admitted guest stays admitted). */
const TOKEN_MARGIN_MS = 30_000;

export class CallClient {
  readonly #opts: CallOptions;
  /** The room as the server's events say (participants, lobby, policy, roles, hands): one owner. */
  #room: RoomState = initialRoomState;
  /** Each remote participant's tracks (the room state has no media), by peer id. */
  readonly #media = new Map<string, { stream: MediaStream; screen?: MediaStream }>();
  readonly #paused = { audio: false, video: false };
  /** The tracks to send (the page replaces them when the person switches a device or an effect). */
  readonly #local: Partial<Record<'audio' | 'video', MediaStreamTrack>> = {};
  readonly #unmuteLocked = { audio: false, video: false };
  #token?: KeptToken;
  #conn?: Connection;
  /** The connection `prepare()` is opening or opened, until `start()` takes it. */
  #prepared?: Promise<Connection | undefined>;
  #status: CallSnapshot['status'] = 'connecting';
  #error?: string;
  #endedReason?: string;
  #notice?: string;
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
  /** What was last reported for each consumer. */
  readonly #sentViews = new Map<string, TileView>();
  /** The room's chat; it outlives connections (its outbox waits for the next one). */
  readonly chat: ChatClient;

  private constructor(opts: CallOptions) {
    this.#opts = opts;
    for (const track of opts.localStream.getTracks()) {
      this.#local[track.kind as 'audio' | 'video'] = track;
    }
    this.chat = new ChatClient(opts.room, () => this.#changed());
  }

  /** A client for `room` as `displayName`, sending the tracks of `localStream`; `start()` joins. */
  static create(opts: CallOptions): CallClient {
    return new CallClient(opts);
  }

  /**
   * Does before Join what needs no decision from the user — the join token, the socket, the
   * router's capabilities loaded into the device — so that `start()` only joins. A failure here
   * is silent: `start()` then does it all itself and reports what goes wrong.
   */
  prepare(): void {
    if (this.#prepared || this.#conn || this.#closed) {
      return;
    }
    this.#prepared = this.#open().catch(() => undefined);
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
      error: this.#error,
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
      unmuteLocked: { ...this.#unmuteLocked },
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

  /** Applies one of the server's events to the room state; tells the page when it changed. */
  #dispatch(event: RoomEvent): void {
    const next = reduce(this.#room, event);
    if (next !== this.#room) {
      this.#room = next;
      this.#changed();
    }
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

  /**
   * Sends `track` instead of the current one of its kind (another camera or microphone, or the
   * same through an effect): swapped on the live producer, no renegotiation, so the others' view
   * goes on. Kept for every later (re)join.
   */
  async setLocalTrack(kind: 'audio' | 'video', track: MediaStreamTrack | undefined): Promise<void> {
    if (this.#local[kind] === track) {
      return;
    }
    if (track) {
      this.#local[kind] = track;
    } else {
      delete this.#local[kind];
    }
    const producer = this.#conn?.producers.get(kind);
    if (producer && !producer.closed) {
      await producer.replaceTrack({ track: track ?? null });
      mark(`replaced ${kind} track`);
    }
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
      throw new CallError(`Cannot share the screen: ${(error as Error).message}`, 'UNAVAILABLE');
    }
    const track = stream.getVideoTracks()[0];
    track.contentHint = 'detail';
    track.addEventListener('ended', () => void this.stopScreenShare());
    this.#screen = stream;
    this.#changed();
    const conn = this.#conn;
    if (conn && !conn.dead && conn.send) {
      try {
        await this.#produceScreen(conn);
      } catch (error) {
        await this.stopScreenShare();
        throw error;
      }
    }
  }

  async #produceScreen(conn: Connection): Promise<void> {
    const track = this.#screen?.getVideoTracks()[0];
    if (!track || !conn.send || conn.screen) {
      return;
    }
    conn.screen = await conn.send.produce({ track, stopTracks: false, appData: { source: 'screen' } });
    mark('sharing screen');
  }

  async stopScreenShare(): Promise<void> {
    const stream = this.#screen;
    if (!stream) {
      return;
    }
    this.#screen = undefined;
    stream.getTracks().forEach((t) => t.stop());
    const conn = this.#conn;
    const producer = conn?.screen;
    this.#changed();
    if (conn && producer) {
      conn.screen = undefined;
      producer.close();
      if (!conn.dead) {
        await this.#request(conn, 'closeProducer', { producerId: producer.id }).catch(() => {});
      }
    }
  }

  /**
   * Reports how `peerId`'s tile is shown: a hidden tile pauses its video, a visible one gets the
   * simulcast layer its height needs. Only changes that matter are sent.
   */
  setTileView(peerId: string, view: TileView, source: 'camera' | 'screen' = 'camera'): void {
    this.#views.set(`${peerId}:${source}`, view);
    const conn = this.#conn;
    if (!conn || conn.dead) {
      return;
    }
    for (const [id, entry] of conn.consumers) {
      if (entry.peerId === peerId && entry.source === source && entry.resumed) {
        this.#sendView(conn, id, view);
      }
    }
  }

  #sendView(conn: Connection, consumerId: string, view: TileView): void {
    const sent = this.#sentViews.get(consumerId);
    const height = Math.round(view.height);
    if (
      sent &&
      sent.visible === view.visible &&
      Math.abs(sent.height - height) <= sent.height * VIEW_HEIGHT_STEP
    ) {
      return;
    }
    this.#sentViews.set(consumerId, { visible: view.visible, height });
    this.#request(conn, 'consumerView', { consumerId, visible: view.visible, height }).catch(() =>
      this.#sentViews.delete(consumerId),
    );
  }

  #pollStats(conn: Connection): void {
    clearInterval(this.#statsTimer);
    this.#statsTimer = setInterval(() => {
      if (conn.dead || this.#conn !== conn) {
        clearInterval(this.#statsTimer);
        return;
      }
      this.#request(conn, 'getStats', {})
        .then((stats) => {
          this.#stats = stats;
          this.#changed();
        })
        .catch(() => {});
    }, STATS_EVERY_MS);
  }

  /** A host control (mute, remove, admit, deny, lock, promote, end); throws with the server's reason. */
  async host<
    E extends
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
      | 'setScreenSharing',
  >(event: E, payload: RequestPayload<E>): Promise<void> {
    await this.#send(event, payload);
  }

  /** A request on the live connection; UNAVAILABLE when there is none (reconnecting, left). */
  async #send<E extends RequestName>(event: E, payload: RequestPayload<E>): Promise<ResponseMap[E]> {
    const conn = this.#conn;
    if (!conn || conn.dead) {
      throw new CallError('not connected', 'UNAVAILABLE');
    }
    return this.#request(conn, event, payload);
  }

  #changed(): void {
    this.#opts.onChange();
  }

  #request<E extends RequestName>(
    conn: Connection,
    event: E,
    payload: RequestPayload<E>,
  ): Promise<ResponseMap[E]> {
    return conn.signaling.request(event, payload);
  }

  /** Where this tab keeps its join token, so a reload stays the same guest (chat identity, lobby). */
  get #tokenKey(): string {
    return `sb:token:${this.#opts.room}:${this.#opts.displayName}`;
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
    const { room, displayName } = this.#opts;
    const response = await api(`/api/rooms/${encodeURIComponent(room)}/tokens`, {
      method: 'POST',
      body: { displayName },
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
      throw new CallError(message.charAt(0).toUpperCase() + message.slice(1), body.code ?? 'UNAVAILABLE');
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
      throw new CallError('the call was closed', 'CANCELLED');
    }
    this.#conn = conn;
    try {
      await this.#join(conn);
    } catch (error) {
      this.#teardown(conn);
      throw error;
    }
  }

  /** Token, socket and the router's capabilities loaded into a new device: all a join needs first. */
  async #open(): Promise<Connection> {
    const token = await this.#joinToken();
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
      path: '/socket.io',
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
    });
    const conn: Connection = {
      socket,
      signaling: new SignalingConnection(socket),
      device: new Device(),
      consumers: new Map(),
      producers: new Map(),
      waiting: [],
      consumed: new Set(),
      dead: false,
    };
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (error) => {
          const code = (error as { data?: { code?: string } }).data?.code ?? 'UNAUTHENTICATED';
          if (code === 'UNAUTHENTICATED' || code === 'PERMISSION_DENIED') {
            this.#token = undefined; // expired, invalid or banned: ask for a new one next time
            sessionStorage.removeItem(this.#tokenKey);
          }
          reject(new CallError(error.message, code));
        });
      });
      const { rtpCapabilities } = await this.#request(conn, 'getRouterRtpCapabilities', {});
      await conn.device.load({ routerRtpCapabilities: rtpCapabilities as types.RtpCapabilities });
    } catch (error) {
      this.#teardown(conn, false);
      throw error;
    }
    return conn;
  }

  async #join(conn: Connection): Promise<void> {
    const { socket } = conn;
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
      this.#unmuteLocked[kind] = !canUnmute;
      conn.producers.get(kind)?.pause();
      this.#notice = canUnmute
        ? `A host muted your ${MEDIA_KIND_NAMES[kind]}.`
        : `A host muted your ${MEDIA_KIND_NAMES[kind]}; you can turn it back on when a host allows it.`;
      this.#changed();
    });
    socket.on('unmuteRequested', ({ kind }) => {
      this.#unmuteLocked[kind] = false;
      this.#notice = this.#paused[kind]
        ? `A host asks you to turn your ${MEDIA_KIND_NAMES[kind]} back on.`
        : `A host asked you to turn your ${MEDIA_KIND_NAMES[kind]} on; it is on.`;
      this.#changed();
    });
    socket.on('unmuteAllowed', ({ kind }) => {
      this.#unmuteLocked[kind] = false;
      this.#notice = `A host allowed you to turn your ${MEDIA_KIND_NAMES[kind]} back on.`;
      this.#changed();
    });
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
      void this.#consume(conn, producer);
    });
    socket.on('producerClosed', ({ producerId, peerId }) => {
      this.#dispatch({ type: 'producerClosed', producerId, peerId });
      this.#removeProducer(conn, producerId);
    });
    socket.on('consumerClosed', ({ producerId }) => this.#removeProducer(conn, producerId));
    socket.on('screenSharingChanged', ({ multiple }) =>
      this.#dispatch({ type: 'screenSharingChanged', multiple }),
    );
    socket.on('activeSpeaker', ({ peerId }) => this.#dispatch({ type: 'activeSpeaker', peerId }));
    socket.on('reaction', ({ peerId, emoji }) => {
      const shown = { id: ++this.#reactionSeq, peerId, emoji };
      this.#reactions = [...this.#reactions, shown].slice(-MAX_REACTIONS_SHOWN);
      this.#changed();
      setTimeout(() => {
        this.#reactions = this.#reactions.filter((r) => r !== shown);
        this.#changed();
      }, REACTION_SHOWN_MS);
    });
    socket.on('audioLevels', ({ levels }) => {
      this.#levels = Object.fromEntries(levels.map(({ peerId, volume }) => [peerId, volume]));
      this.#changed();
    });
    socket.on('producerPaused', ({ producerId, peerId, paused }) =>
      this.#dispatch({ type: 'producerPaused', producerId, peerId, paused }),
    );

    mark('connected');
    this.#dispatch({ type: 'connectionLost' }); // a previous attempt's view of the room is stale
    const rtpCaps = { rtpCapabilities: conn.device.rtpCapabilities as never };
    let joined = await this.#request(conn, 'join', rtpCaps);
    while (joined.status === 'lobby') {
      this.#waitingPeerId = joined.peerId;
      this.#status = 'lobby';
      this.#changed();
      await new Promise<void>((resolve, reject) => {
        socket.once('admitted', () => resolve());
        socket.once('denied', ({ reason }) => reject(new CallError(reason, 'PERMISSION_DENIED')));
        socket.once('callEnded', ({ reason }) => reject(new CallError(reason, 'UNAVAILABLE')));
        socket.once('disconnect', () => reject(new CallError('disconnected while waiting', 'UNAVAILABLE')));
      });
      joined = await this.#request(conn, 'join', rtpCaps);
    }
    this.#dispatch({ type: 'joined', result: joined });
    mark('joined');
    this.chat.attach({
      request: (event, payload) => this.#request(conn, event, payload),
      on: (event, listener) => conn.socket.on(event, listener as never),
      sub: subjectOf(this.#token?.token),
    });
    // Both transports at once; then send and receive side by side, so the others' video does not
    // wait for our own DTLS handshake.
    // The receiving one comes with consumers of everything already in the room.
    const [{ transport: send }, { transport: recv, consumers: existing = [] }] = await Promise.all([
      this.#createTransport(conn, true),
      this.#createTransport(conn, false),
    ]);
    conn.send = send;
    conn.recv = recv;
    mark('transports');
    this.#status = 'joined';
    if (this.#presence === 'away') {
      this.#request(conn, 'setPresence', { state: 'away' }).catch(() => {});
    }
    this.#error = undefined;
    this.#changed();
    this.#pollStats(conn);
    const waiting = [...joined.producers, ...conn.waiting.splice(0)];
    await Promise.all([
      ...Object.values(this.#local).map(async (track) => {
        const kind = track.kind as 'audio' | 'video';
        const paused = this.#paused[kind];
        const producer = await send.produce({
          track,
          stopTracks: false,
          appData: { paused },
          ...(kind === 'video' && {
            encodings: cameraEncodings(track.getSettings().height),
            codecOptions: { videoGoogleStartBitrate: 1000 },
          }),
        });
        if (paused) {
          producer.pause();
        }
        conn.producers.set(producer.kind, producer);
      }),
      // A share that was on before a reconnect goes on again (the room may refuse it by now).
      this.#produceScreen(conn).catch((error: unknown) => {
        this.#notice = (error as Error).message;
        void this.stopScreenShare();
      }),
      this.#consumeAll(conn, recv, existing),
      ...waiting.map((producer) => this.#consume(conn, producer)),
    ]);
  }

  async #createTransport(
    conn: Connection,
    producing: boolean,
  ): Promise<{ transport: types.Transport; consumers?: ConsumerInfo[] }> {
    const info = await this.#request(
      conn,
      'createWebRtcTransport',
      producing ? { producing } : { producing, consumeExisting: true },
    );
    const options = {
      id: info.id,
      iceParameters: info.iceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
      iceServers: this.#token?.iceServers ?? [],
      iceTransportPolicy: this.#opts.forceRelay ? ('relay' as const) : ('all' as const),
    };
    const transport = producing
      ? conn.device.createSendTransport(options)
      : conn.device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#request(conn, 'connectWebRtcTransport', {
        transportId: transport.id,
        dtlsParameters: dtlsParameters as never,
      })
        .then(() => callback())
        .catch(errback);
    });
    if (producing) {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        this.#request(conn, 'produce', {
          transportId: transport.id,
          kind,
          rtpParameters: rtpParameters as never,
          paused: appData.paused === true,
          source: appData.source as MediaSource | undefined,
        })
          .then(({ producerId }) => callback({ id: producerId }))
          .catch(errback);
      });
    }
    // The network path went away: restart ICE on this transport first (new ICE parameters from
    // the media node, same DTLS session, nothing renegotiated); rejoin only if that fails too.
    let restarts = 0;
    const what = producing ? 'sending' : 'receiving';
    transport.on('connectionstatechange', (state) => {
      mark(`${what} ${state}`);
      if (state !== 'disconnected' && state !== 'failed') {
        if (state === 'connected') {
          restarts = 0;
        }
        return;
      }
      if (restarts >= ICE_RESTARTS) {
        if (state === 'failed') {
          this.#connectionLost(conn, `media connection failed (${what})`);
        }
        return;
      }
      restarts++;
      this.#request(conn, 'restartIce', { transportId: transport.id })
        .then(({ iceParameters }) =>
          transport.restartIce({ iceParameters: iceParameters as types.IceParameters }),
        )
        .then(() => mark(`ice restarted (${what})`))
        .catch((error: unknown) => {
          mark(`ice restart failed (${what}): ${(error as Error).message}`);
          this.#connectionLost(conn, `media connection failed (${what})`);
        });
    });
    return { transport, consumers: info.consumers };
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
      this.#request(conn, 'setPresence', { state }).catch(() => {});
    }
  }

  async #consume(conn: Connection, producer: ProducerInfo): Promise<void> {
    const transport = conn.recv;
    if (producer.peerId === this.#room.selfPeerId || conn.consumed.has(producer.producerId)) {
      return;
    }
    if (!transport) {
      conn.waiting.push(producer);
      return;
    }
    conn.consumed.add(producer.producerId);
    try {
      const info = await this.#request(conn, 'consume', {
        transportId: transport.id,
        producerId: producer.producerId,
      });
      const entry = await this.#receive(conn, transport, { ...info, source: producer.source });
      if (!(await this.#resumeWithView(conn, entry))) {
        await this.#request(conn, 'resumeConsumer', { consumerId: entry.consumer.id });
      }
      this.#resumed(conn, entry);
    } catch (error) {
      conn.consumed.delete(producer.producerId);
      if (!conn.dead) {
        console.warn('could not receive a track', error);
      }
    }
  }

  /**
   * The consumers the server made with the receiving transport (one per producer already in the
   * room): set up side by side, then resumed with one request.
   */
  async #consumeAll(conn: Connection, transport: types.Transport, infos: ConsumerInfo[]): Promise<void> {
    for (const info of infos) {
      conn.consumed.add(info.producerId);
    }
    const entries = await Promise.all(
      infos.map((info) =>
        this.#receive(conn, transport, info).catch((error: unknown) => {
          conn.consumed.delete(info.producerId);
          if (!conn.dead) {
            console.warn('could not receive a track', error);
          }
          return undefined;
        }),
      ),
    );
    const ready = entries.filter((entry) => entry !== undefined);
    // Videos whose tile is known resume with its layer; the rest in one request.
    const withView = await Promise.all(ready.map((entry) => this.#resumeWithView(conn, entry)));
    const rest = ready.filter((_, i) => !withView[i]);
    if (rest.length > 0) {
      await this.#request(conn, 'resumeConsumers', { consumerIds: rest.map((entry) => entry.consumer.id) });
    }
    for (const entry of ready) {
      this.#resumed(conn, entry);
    }
  }

  /**
   * Resumes a video consumer whose tile already reported its view through `consumerView`, so the
   * SFU starts with the layer the tile needs (one key frame, no switch right after). False when
   * there is no view yet (resume it plainly).
   */
  async #resumeWithView(conn: Connection, entry: ConsumerEntry): Promise<boolean> {
    const view = this.#views.get(`${entry.peerId}:${entry.source}`);
    if (entry.consumer.kind !== 'video' || !view?.visible) {
      return false;
    }
    const height = Math.round(view.height);
    this.#sentViews.set(entry.consumer.id, { visible: true, height });
    await this.#request(conn, 'consumerView', { consumerId: entry.consumer.id, visible: true, height });
    return true;
  }

  /** Sets up a consumer the server made (paused) and puts its track on the participant's tile. */
  async #receive(conn: Connection, transport: types.Transport, info: ConsumerInfo): Promise<ConsumerEntry> {
    const consumer = await transport.consume({
      id: info.consumerId,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters as types.RtpParameters,
    });
    const source = info.source ?? DEFAULT_SOURCE[info.kind];
    const entry: ConsumerEntry = { consumer, peerId: info.peerId, source, resumed: false };
    conn.consumers.set(consumer.id, entry);
    const media = this.#mediaOf(info.peerId);
    if (source === 'screen') {
      media.screen = new MediaStream([consumer.track]);
    } else {
      // A new MediaStream object makes React (and the <video>) pick up the added track.
      media.stream = new MediaStream([...media.stream.getTracks(), consumer.track]);
    }
    // What the consumer says of its producer (the room state may not have it yet).
    this.#dispatch({
      type: 'newProducer',
      producer: {
        producerId: info.producerId,
        peerId: info.peerId,
        kind: info.kind,
        source,
        paused: info.producerPaused,
      },
    });
    return entry;
  }

  /** The SFU sends it now: report its tile's view, show it. */
  #resumed(conn: Connection, entry: ConsumerEntry): void {
    entry.resumed = true;
    const view = this.#views.get(`${entry.peerId}:${entry.source}`);
    if (entry.consumer.kind === 'video' && view) {
      this.#sendView(conn, entry.consumer.id, view);
    }
    mark(`consuming ${entry.consumer.kind} of ${entry.peerId}`);
    this.#changed();
  }

  #removeProducer(conn: Connection, producerId: string): void {
    for (const [id, entry] of conn.consumers) {
      if (entry.consumer.producerId === producerId) {
        entry.consumer.close();
        conn.consumers.delete(id);
        this.#sentViews.delete(id);
        const media = this.#media.get(entry.peerId);
        if (media && entry.source === 'screen') {
          media.screen = undefined;
        } else if (media) {
          media.stream = new MediaStream(media.stream.getTracks().filter((t) => t !== entry.consumer.track));
        }
      }
    }
    conn.consumed.delete(producerId);
    this.#changed();
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

  /** The connection is gone: drop what it carried and rejoin with backoff. */
  #connectionLost(conn: Connection, reason: string, rejoinNow = false): void {
    if (this.#closed || conn.dead || conn !== this.#conn) {
      return;
    }
    this.#teardown(conn);
    this.#media.clear();
    this.#dispatch({ type: 'connectionLost' });
    this.#status = 'reconnecting';
    this.#error = `Connection lost (${reason}). Reconnecting…`;
    this.#changed();
    void this.#reconnect(rejoinNow);
  }

  async #reconnect(rejoinNow: boolean): Promise<void> {
    let lastError = '';
    for (const delay of rejoinNow ? [0, ...RECONNECT_DELAYS] : RECONNECT_DELAYS) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.#closed) {
        return;
      }
      try {
        await this.#connect();
        mark('reconnected');
        return;
      } catch (error) {
        lastError = (error as Error).message;
        if (error instanceof CallError && ['PERMISSION_DENIED', 'NOT_FOUND'].includes(error.code)) {
          break; // removed, locked out or the meeting is gone: retrying cannot help
        }
      }
    }
    this.#status = 'failed';
    this.#error = `Could not reconnect (${lastError}).`;
    this.#changed();
  }

  /** Closes a connection; `attached` when the chat was using it (any that reached #join). */
  #teardown(conn: Connection, attached = true): void {
    if (attached) {
      this.chat.detach();
      this.#sentViews.clear();
      this.#levels = {};
    }
    conn.dead = true;
    conn.socket.removeAllListeners();
    conn.socket.disconnect();
    conn.send?.close();
    conn.recv?.close();
  }

  async #setPaused(kind: 'audio' | 'video', paused: boolean): Promise<void> {
    if (!paused && this.#unmuteLocked[kind]) {
      this.#notice = `A host muted your ${MEDIA_KIND_NAMES[kind]}; ask a host to let you turn it back on.`;
      this.#changed();
      return;
    }
    this.#paused[kind] = paused;
    this.#notice = undefined;
    this.#changed();
    const conn = this.#conn;
    const producer = conn?.producers.get(kind);
    if (!conn || conn.dead || !producer) {
      return; // applied when the connection comes back
    }
    if (paused) {
      producer.pause();
    } else {
      producer.resume();
    }
    await this.#request(conn, paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
  }

  setMicrophoneMuted(muted: boolean): Promise<void> {
    return this.#setPaused('audio', muted);
  }

  setCameraOff(off: boolean): Promise<void> {
    return this.#setPaused('video', off);
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
      conn.send?.close();
      conn.recv?.close();
    }
    this.#status = 'left';
    this.#changed();
  }
}
