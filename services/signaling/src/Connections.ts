/**
 * The browser sockets connected to this instance: each gets the typed handler map over
 * `common/protocol` (every request validated, rate limited, logged as `<event> ok 3.1 ms` and
 * answered, never thrown), and its departure when it disconnects. The sockets themselves are
 * recorded in `LocalSockets`.
 */
import { randomUUID } from 'node:crypto';
import { parseOrThrow, UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import type { client as prom } from '@switchboard/metrics';
import {
  requestSchemas,
  type Ack,
  type PresenceState,
  type RequestName,
  type ResponseMap,
} from '@switchboard/protocol';
import { timedRequest } from '@switchboard/runtime';
import type { z } from 'zod';
import type { Attributes } from './Attributes';
import type { Chat } from './Chat';
import type { ClientTimings } from './ClientTimings';
import type { QualitySamples } from './QualitySamples';
import type { Reactions } from './Reactions';
import type { Departures } from './Departures';
import type { HostControls } from './HostControls';
import type { MediaRequests, RequestContext } from './MediaRequests';
import type { LocalSockets } from './LocalSockets';
import {
  joinedPeer,
  peerRoom,
  REPLACED_NOTICE,
  type PeerSocket,
  type PeerState,
  type SignalingIo,
} from './peer';
import type { Presence } from './Presence';
import type { SocketLimits } from './SocketLimits';

/**
 * Requests a busy room sends many times a second: their `ok` lines are debug (a refusal or failure
 * is still logged at info or above), so they do not drown every other line in the log viewer.
 */
const FREQUENT_EVENTS: ReadonlySet<RequestName> = new Set([
  'chatSend',
  'chatTyping',
  'react',
  'consumerView',
  'getStats',
  'reportFirstFrame',
]);

type Handler<E extends RequestName> = (
  socket: PeerSocket,
  payload: z.output<(typeof requestSchemas)[E]>,
  ctx: RequestContext,
) => Promise<ResponseMap[E]>;

export interface ConnectionsOptions {
  io: SignalingIo;
  presence: Presence;
  limits: SocketLimits;
  requests: MediaRequests;
  hostControls: HostControls;
  chat: Chat;
  departures: Departures;
  attributes: Attributes;
  reactions: Reactions;
  /** Call quality for analytics, sampled from the stats participants ask for. */
  quality: QualitySamples;
  /** What browsers measure for the SLIs (time to first frame). */
  timings: ClientTimings;
  /** The sockets connected here (this class adds and removes them). */
  sockets: LocalSockets;
  /** Time to answer each request, by event and outcome. */
  requestDuration: prom.Histogram<'event' | 'outcome'>;
  logger: Logger;
}

export class Connections {
  readonly #o: ConnectionsOptions;
  readonly #handlers: { [E in RequestName]: Handler<E> };
  readonly #sockets: LocalSockets;
  /** Departures of disconnected sockets still running; drain() waits for them. */
  readonly #leaving = new Set<Promise<void>>();
  #draining = false;

  constructor(options: ConnectionsOptions) {
    this.#o = options;
    this.#sockets = options.sockets;
    const {
      requests,
      hostControls: host,
      chat,
      departures,
      attributes,
      reactions,
      quality,
      timings,
    } = options;
    this.#handlers = {
      getRouterRtpCapabilities: (s, _p, ctx) => requests.getRouterRtpCapabilities(s, ctx),
      join: (s, p, ctx) => requests.join(s, p, ctx),
      prepare: (s, _p, ctx) => requests.prepare(s, ctx),
      createWebRtcTransport: (s, p, ctx) => requests.createWebRtcTransport(s, p, ctx),
      connectWebRtcTransport: (s, p, ctx) => requests.connectWebRtcTransport(s, p, ctx),
      restartIce: (s, p, ctx) => requests.restartIce(s, p, ctx),
      produce: (s, p, ctx) => requests.produce(s, p, ctx),
      closeProducer: (s, p, ctx) => requests.closeProducer(s, p, ctx),
      pauseProducer: (s, p, ctx) => requests.setProducerPaused(s, p.producerId, true, ctx),
      resumeProducer: (s, p, ctx) => requests.setProducerPaused(s, p.producerId, false, ctx),
      consume: (s, p, ctx) => requests.consume(s, p, ctx),
      resumeConsumer: (s, p, ctx) => requests.resumeConsumer(s, p, ctx),
      resumeConsumers: (s, p, ctx) => requests.resumeConsumers(s, p, ctx),
      consumerView: (s, p, ctx) => requests.consumerView(s, p, ctx),
      getStats: async (s, _p, ctx) => quality.observe(s.data.peer, await requests.getStats(s, ctx)),
      reportFirstFrame: async (s, p) => timings.firstFrame(s, p.ms),
      leave: async (s, _p, ctx) => (await departures.leave(s, 'requested', ctx.correlationId), {}),
      hostMute: async (s, p, ctx) => (await host.mute(s, p, ctx, ctx.logger), {}),
      hostAllowUnmute: async (s, p) => (await host.allowUnmute(s, p), {}),
      hostMuteAll: (s, p, ctx) => host.muteAll(s, p, ctx, ctx.logger),
      hostAskToUnmute: async (s, p, ctx) => (await host.askToUnmute(s, p, ctx.logger), {}),
      removePeer: async (s, p, ctx) => (await host.remove(s, p, ctx.logger), {}),
      admit: async (s, p, ctx) => (await host.admit(s, p, ctx.logger), {}),
      deny: async (s, p, ctx) => (await host.deny(s, p, ctx.logger), {}),
      setPolicy: async (s, p, ctx) => (await host.setPolicy(s, p, ctx.logger), {}),
      promote: async (s, p, ctx) => (await host.promote(s, p, ctx.logger), {}),
      endMeeting: async (s, _p, ctx) => (await host.endMeeting(s, ctx.logger), {}),
      setScreenSharing: async (s, p, ctx) => (await host.setScreenSharing(s, p, ctx.logger), {}),
      setSelfUnmute: async (s, p, ctx) => (await host.setSelfUnmute(s, p, ctx.logger), {}),
      setPresence: (s, p) => this.#setPresence(s, p),
      setAttributes: (s, p, ctx) => attributes.set(s, p, ctx),
      react: (s, p) => reactions.react(s, p),
      chatSend: (s, p, ctx) => chat.send(s, p, ctx),
      chatEdit: (s, p, ctx) => chat.edit(s, p, ctx),
      chatDelete: (s, p, ctx) => chat.delete(s, p, ctx),
      chatHistory: (s, p) => chat.history(s, p),
      chatSync: (s, p) => chat.sync(s, p),
      chatSearch: (s, p) => chat.search(s, p),
      chatTyping: (s, p) => chat.typing(s, p),
    };
  }

  /**
   * Serves a socket that passed the handshake until it disconnects. It is its identity's one
   * connection in the room: an older one (any instance) is told why and closed.
   */
  accept(socket: PeerSocket): void {
    const peer = socket.data.peer;
    // The peer's fields go into each line rather than into a child logger kept per connection
    // (a pino child holds its own bindings, level methods and hidden classes: ~1 KB a socket).
    const { logger } = this.#o;
    const who = { roomId: peer.roomId, peerId: peer.peerId };
    logger.info({ ...who, displayName: peer.displayName }, 'socket connected');
    this.#sockets.add(socket);
    // engine.io keeps the upgrade request (headers, parser state) for the connection's life, for
    // middleware like express-session; what we read from it is in socket.handshake by now.
    (socket.conn as { request: unknown }).request = null;
    // Nor is the join token needed once checked: a bearer credential (and ~0.5 KB a socket) that
    // would otherwise stay in memory for as long as the call lasts.
    socket.handshake.auth = {};
    void socket.join(peerRoom(peer.peerId));
    // One listener for every request (not one per kind: ~40 closures a connection); events that
    // are no request are ignored, as socket.io ignores events nobody listens to.
    socket.onAny((event: string, ...args: unknown[]) => {
      if (Object.hasOwn(this.#handlers, event)) {
        this.#serve(socket, event as RequestName, args, peer);
      }
    });
    // The handshake made it its identity's connection; the one it replaced goes.
    if (peer.replaces) {
      logger.info(
        { ...who, replaced: peer.replaces },
        'a newer connection of this identity replaces the older one',
      );
      this.#sockets.closePeerEverywhere(peer.replaces, REPLACED_NOTICE);
    }
    socket.on('disconnect', (reason) => {
      logger.info({ ...who, reason }, 'socket disconnected');
      this.#sockets.delete(socket);
      this.#o.limits.forget(socket.id);
      this.#o.attributes.forget(peer.peerId);
      this.#o.quality.forget(peer.peerId);
      const leaving = this.#o.departures
        .leave(socket, reason, randomUUID())
        .then(() => this.#o.presence.releaseIdentity(peer.roomId, peer.sub, peer.peerId))
        .catch((error: unknown) => logger.error({ ...who, err: error }, 'cleanup after disconnect failed'))
        .finally(() => this.#leaving.delete(leaving));
      this.#leaving.add(leaving);
    });
  }

  /**
   * Shutting down: refuses further requests (UNAVAILABLE: reconnect elsewhere), says goodbye for
   * every peer here and waits for every departure, these and the ones already running.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    await Promise.all(
      [...this.#sockets.values()].map((socket) =>
        this.#o.departures
          .leave(socket, 'server_shutdown', randomUUID())
          .catch((error: unknown) => this.#o.logger.warn({ err: error }, 'leave during shutdown failed')),
      ),
    );
    await Promise.all(this.#leaving);
  }

  /** Validates, logs, times and answers one request (`args`: its payload, then the ack); a bad payload or failure never throws. */
  #serve<E extends RequestName>(socket: PeerSocket, event: E, args: unknown[], peer: PeerState): void {
    const handler = this.#handlers[event] as Handler<E>;
    const ack = args.at(-1);
    // No payload at all counts as `{}`; anything sent (null included) is validated as it is.
    const payload = args.length > 1 ? args[0] : {};
    const given = (payload as { correlationId?: unknown } | null)?.correlationId;
    const correlationId =
      typeof given === 'string' && given.length > 0 && given.length <= 64 ? given : randomUUID();
    const fields = { roomId: peer.roomId, peerId: peer.peerId, correlationId, event };
    const base = this.#o.logger;
    if (typeof ack !== 'function') {
      base.warn(fields, 'request without an acknowledgement callback ignored');
      return;
    }
    // The request's own logger, made only when a handler logs (most never do).
    let logger: Logger | undefined;
    const ctx: RequestContext = {
      correlationId,
      peerId: peer.peerId,
      get logger() {
        return (logger ??= base.child(fields));
      },
    };
    void (async () => {
      const outcome = await timedRequest(
        event,
        base,
        async () => {
          if (this.#draining) {
            throw new UnavailableError('signaling instance is shutting down; reconnect');
          }
          await this.#o.limits.consume(socket.id, socket.data.peer.clientKey);
          const parsed = parseOrThrow(requestSchemas[event], payload, `${event} payload`) as z.output<
            (typeof requestSchemas)[E]
          >;
          return handler(socket, parsed, ctx);
        },
        { fields, okLevel: FREQUENT_EVENTS.has(event) ? 'debug' : 'info' },
      );
      const response: Ack<ResponseMap[E]> = outcome.ok
        ? { ok: true, data: outcome.value }
        : { ok: false, error: { ...outcome.error.toJSON(), correlationId } };
      this.#o.requestDuration.observe(
        { event, outcome: outcome.ok ? 'ok' : outcome.error.code },
        outcome.seconds,
      );
      ack(response);
    })();
  }

  /** In the call or away: recorded in presence and shown to the room. */
  async #setPresence(socket: PeerSocket, p: { state: PresenceState }): Promise<Record<string, never>> {
    const peer = joinedPeer(socket);
    peer.presence = p.state;
    if (await this.#o.presence.setState(peer.roomId, peer.peerId, p.state)) {
      this.#o.io.to(peer.roomId).emit('presenceChanged', { peerId: peer.peerId, state: p.state });
    }
    return {};
  }
}
