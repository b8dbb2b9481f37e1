/**
 * The rooms this signaling instance has peers in. A session ties a room to its media nodes: its
 * home node (where it opened: the router's capabilities, audio levels and active speaker), the
 * other nodes it spans once it outgrew its home (each peer is on one node; producers are piped
 * to the nodes whose peers consume them), the WatchRoomEvents streams of the nodes this
 * instance's peers are on, and the local peers. A session is opened once per room, when its first
 * peer here is let in (never for someone merely asking or waiting), released when no local peer uses it
 * (closing the room on its media nodes when nobody anywhere is in it). When a node ends its
 * stream (lost, drained, its worker died) only the peers on that node must go: another of the
 * room's nodes becomes home if needed, and the copies piped from the lost node close. With no
 * node left the session is lost. What happens to the room's peers then is for whoever listens to
 * its events (`roomEvent`, `nodeLost`, `lost`).
 */
import { EventEmitter } from 'node:events';
import { AppError, UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { startOnce } from '@switchboard/runtime';
import { rtpCapabilitiesFromProto, type WatchRoomEventsResponse } from '@switchboard/proto';
import type { RtpCapabilities } from '@switchboard/protocol';
import type { CallMeta, MediaClient } from './MediaClient';
import type { MediaDirectory } from './MediaDirectory';
import { MediaPipes } from './MediaPipes';
import { storedPeer, type PeerSocket } from './peer';
import type { Presence } from './Presence';

/** How long one media node may take to tell its capabilities before the next is asked. */
const CAPABILITIES_TIMEOUT_MS = 1000;

export interface RoomSession {
  roomId: string;
  /** The room's home node: audio levels and the active speaker are taken from its stream. */
  home: MediaClient;
  rtpCapabilities: RtpCapabilities;
  peers: Map<string, PeerSocket>;
  /** Peers here being let in (between opening the session and joining its peers). */
  joining: Set<string>;
  /** The room's loudest participant as the media node last said (told to each joiner). */
  activeSpeaker?: string;
  /** The event streams this instance watches (home and its peers' nodes), by node id. */
  watches: Map<string, () => void>;
  /** Set once the session is being closed (so the stream's end is expected). */
  closing: boolean;
}

export interface RoomSessionsOptions {
  directory: MediaDirectory;
  /** This signaling instance's id (recorded with each open session). */
  instanceId: string;
  presence: Presence;
  logger: Logger;
}

export interface RoomSessionsEvents {
  /** An event of one of the room's media nodes (`node`), as its WatchRoomEvents stream sent it. */
  roomEvent: [session: RoomSession, event: WatchRoomEventsResponse, node: MediaClient];
  /** A node of the room ended its part of it: the peers here on that node must go. */
  nodeLost: [session: RoomSession, node: MediaClient];
  /** Every node of the room ended it (the session is already forgotten here); its peers must go. */
  lost: [session: RoomSession, error?: Error];
}

export class RoomSessions extends EventEmitter<RoomSessionsEvents> {
  readonly #options: RoomSessionsOptions;
  readonly #sessions = new Map<string, Promise<RoomSession>>();
  readonly #pipes = new MediaPipes();
  #capabilities?: Promise<RtpCapabilities>;
  /** Releases of sessions under way (closing their room on its nodes), by room. */
  readonly #releasing = new Map<string, Promise<void>>();

  constructor(options: RoomSessionsOptions) {
    super();
    this.#options = options;
  }

  get size(): number {
    return this.#sessions.size;
  }

  has(roomId: string): boolean {
    return this.#sessions.has(roomId);
  }

  /** The room's current session, if one is open or opening. */
  current(roomId: string): Promise<RoomSession> | undefined {
    return this.#sessions.get(roomId);
  }

  /**
   * The RTP capabilities a browser loads its device with before joining: every router has the
   * same (one codec list), so any healthy node answers, and no room opens for the asking.
   */
  capabilities(meta: CallMeta): Promise<RtpCapabilities> {
    this.#capabilities ??= (async () => {
      let lastError: unknown;
      // A node Consul still lists for a few seconds after it died must not hold anyone up.
      for (const node of await this.#options.directory.anyClients()) {
        try {
          const { rtpCapabilities } = await node.call(
            'getRtpCapabilities',
            {},
            meta,
            CAPABILITIES_TIMEOUT_MS,
          );
          if (rtpCapabilities) {
            return rtpCapabilitiesFromProto(rtpCapabilities);
          }
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError ?? new AppError('INTERNAL', 'media nodes returned no RTP capabilities');
    })();
    this.#capabilities.catch(() => (this.#capabilities = undefined));
    return this.#capabilities;
  }

  /**
   * The room's session, held open for a peer being let in: it cannot close under the peer until
   * the peer is among its `peers` or leaves `joining` (then `releaseIfIdle`). A session closing
   * at that moment is replaced by a new one.
   */
  async enter(roomId: string, peerId: string, meta: CallMeta, logger: Logger): Promise<RoomSession> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const session = await this.open(roomId, meta, logger);
      if (!session.closing) {
        session.joining.add(peerId);
        return session;
      }
      await this.#forget(session);
    }
    throw new UnavailableError('this meeting is closing on its media server; try again');
  }

  /** The room's session, opening it (media node, router, event stream) once. */
  open(roomId: string, meta: CallMeta, logger: Logger): Promise<RoomSession> {
    return startOnce(this.#sessions, roomId, () => this.#open(roomId, meta, logger));
  }

  async #open(roomId: string, meta: CallMeta, logger: Logger): Promise<RoomSession> {
    // The room's previous session here may be closing it on its node right now: after that.
    await this.#releasing.get(roomId)?.catch(() => {});
    const media = await this.#options.directory.clientForRoom(roomId);
    const { rtpCapabilities } = await media.call('getRouterRtpCapabilities', { roomId }, meta);
    if (!rtpCapabilities) {
      throw new AppError('INTERNAL', 'media node returned no RTP capabilities');
    }
    const session: RoomSession = {
      roomId,
      home: media,
      rtpCapabilities: rtpCapabilitiesFromProto(rtpCapabilities),
      peers: new Map(),
      joining: new Set(),
      watches: new Map(),
      closing: false,
    };
    await this.#options.presence.openSession(roomId, this.#options.instanceId);
    this.#watch(session, media, meta.correlationId);
    logger.info({ mediaNode: media.instanceId }, 'room session opened');
    return session;
  }

  /** Watches the events of the room's part on `node` (once). */
  #watch(session: RoomSession, node: MediaClient, correlationId: string): void {
    if (session.watches.has(node.instanceId)) {
      return;
    }
    const cancel = node.watchRoomEvents(session.roomId, correlationId, {
      onEvent: (event) => this.emit('roomEvent', session, event, node),
      onEnd: (error) => {
        if (session.watches.get(node.instanceId) === cancel) {
          session.watches.delete(node.instanceId);
        }
        if (!session.closing) {
          void this.#nodeLost(session, node, error);
        }
      },
    });
    session.watches.set(node.instanceId, cancel);
  }

  /**
   * The node a joining peer of the room goes to: its home while that takes newcomers, else
   * another node (the room opens there, and this instance watches it).
   */
  async placePeer(session: RoomSession, meta: CallMeta): Promise<MediaClient> {
    const node = await this.#options.directory.placePeer(session.roomId, session.home);
    if (node !== session.home) {
      await node.call('getRouterRtpCapabilities', { roomId: session.roomId }, meta);
      this.#watch(session, node, meta.correlationId);
    }
    return node;
  }

  /**
   * Makes a producer of node `fromNode` (its peer's, as presence says) consumable on node `to`:
   * a no-op when they are the same (or the peer's node is not known: it is the home then).
   */
  async pipe(
    session: RoomSession,
    producerId: string,
    fromNode: string | undefined,
    to: MediaClient,
    meta: CallMeta,
  ): Promise<void> {
    if (!fromNode || fromNode === to.instanceId) {
      return;
    }
    const from = this.#options.directory.clientById(fromNode);
    if (!from) {
      throw new UnavailableError(`the media node of producer ${producerId} is gone`);
    }
    await this.#pipes.pipe(session.roomId, producerId, from, to, meta);
  }

  /**
   * Calls `fn` on every node of the room, side by side, but `except` if given (where a producer's
   * own node was already called, only its copies). A node where the thing is not (NOT_FOUND) is
   * fine; other failures are thrown.
   */
  async onNodes(
    roomId: string,
    fn: (node: MediaClient) => Promise<unknown>,
    except?: MediaClient,
  ): Promise<void> {
    const nodes = (await this.#options.directory.roomNodes(roomId)).filter((node) => node !== except);
    const outcomes = await Promise.allSettled(nodes.map(fn));
    for (const outcome of outcomes) {
      if (
        outcome.status === 'rejected' &&
        !(outcome.reason instanceof AppError && outcome.reason.code === 'NOT_FOUND')
      ) {
        throw outcome.reason;
      }
    }
  }

  /**
   * Closes the room's part on `node` (not its home) once nobody in the room is on it any more: its
   * router and the pipes feeding it would otherwise forward to no one until the room ends. Its
   * event stream then ends, and every instance watching it closes the survivors' pipes to it.
   */
  async retireIfEmpty(
    session: RoomSession,
    node: MediaClient,
    meta: CallMeta,
    logger: Logger,
  ): Promise<void> {
    const nodes = await this.#options.presence.mediaNodes(session.roomId);
    if ([...nodes.values()].includes(node.instanceId)) {
      return;
    }
    await this.#options.directory.leaveNode(session.roomId, node.instanceId);
    await node
      .call('closeRoom', { roomId: session.roomId }, meta)
      .catch((error: unknown) =>
        logger.warn({ err: error, mediaNode: node.instanceId }, 'media node CloseRoom failed'),
      );
    logger.info({ mediaNode: node.instanceId }, 'nobody left on a media node of the room: its part closed');
  }

  /**
   * A node ended its part of the room (its stream ended: lost, drained, worker died). If it was
   * home, another node of the room takes over; the survivors close their pipes from it (what was
   * piped in from it closes with them); the peers here on it must go (they rejoin elsewhere).
   */
  async #nodeLost(session: RoomSession, node: MediaClient, error?: Error): Promise<void> {
    const { directory, logger } = this.#options;
    const survivors = (await directory.roomNodes(session.roomId).catch(() => [])).filter((n) => n !== node);
    if (node === session.home) {
      const home = await directory.rehome(session.roomId, node.instanceId, survivors).catch(() => undefined);
      if (!home || home === node) {
        await this.#lost(session, error);
        return;
      }
      session.home = home;
      this.#watch(session, home, 'rehome');
    } else {
      await directory.leaveNode(session.roomId, node.instanceId).catch(() => {});
    }
    logger[error ? 'error' : 'info'](
      { roomId: session.roomId, err: error, mediaNode: node.instanceId, home: session.home.instanceId },
      error
        ? 'a media node was lost from the room; its peers rejoin, the room goes on'
        : 'a media node closed its part of the room; any peers there rejoin, the room goes on',
    );
    this.#pipes.forget(session.roomId, node.instanceId);
    await Promise.allSettled(
      survivors.map((survivor) =>
        survivor.call(
          'closePipeTransport',
          { roomId: session.roomId, remoteNode: node.instanceId },
          {
            correlationId: 'node-lost',
          },
        ),
      ),
    );
    this.emit('nodeLost', session, node);
  }

  async #lost(session: RoomSession, error?: Error): Promise<void> {
    session.closing = true;
    this.#cancelWatches(session);
    this.#options.logger.error(
      { roomId: session.roomId, err: error, mediaNode: session.home.instanceId, peers: session.peers.size },
      'media node ended the room; disconnecting its peers',
    );
    await this.#forget(session);
    await this.#options.presence.closeSession(session.roomId, this.#options.instanceId).catch(() => 0);
    await this.#options.directory.releaseRoom(session.roomId, session.home.instanceId).catch(() => {});
    this.emit('lost', session, error);
  }

  #cancelWatches(session: RoomSession): void {
    for (const cancel of session.watches.values()) {
      cancel();
    }
    session.watches.clear();
    this.#pipes.forget(session.roomId);
  }

  /** Removes the session from the map unless a newer one for the same room replaced it. */
  async #forget(session: RoomSession): Promise<void> {
    const current = this.#sessions.get(session.roomId);
    if (
      current &&
      (await current.catch(() => undefined)) === session &&
      this.#sessions.get(session.roomId) === current
    ) {
      this.#sessions.delete(session.roomId);
    }
  }

  /**
   * Writes this instance's rooms into Redis again after it lost them (restarted empty): each open
   * session, the media node it is on, and each joined peer here with its producers, as they are
   * now. Returns how many of each.
   */
  async reregister(): Promise<{ rooms: number; peers: number }> {
    const { presence, directory, instanceId, logger } = this.#options;
    const counts = { rooms: 0, peers: 0 };
    for (const opening of [...this.#sessions.values()]) {
      const session = await opening.catch(() => undefined);
      if (!session || session.closing) {
        continue;
      }
      await presence.openSession(session.roomId, instanceId);
      const node = await directory.restoreRoom(session.roomId, session.home.instanceId, [
        ...session.watches.keys(),
      ]);
      if (node !== session.home.instanceId) {
        // Someone opened the room on another node in the gap: the two halves cannot see each other.
        logger.error(
          { roomId: session.roomId, mediaNode: session.home.instanceId, otherNode: node },
          'room split across media nodes while Redis was empty',
        );
      }
      for (const socket of session.peers.values()) {
        const { peerId, sub } = socket.data.peer;
        // Its identity's claim went with the data (a newer connection elsewhere claims it anew).
        await presence.claimIdentity(session.roomId, sub, peerId);
        await presence.addPeer(session.roomId, storedPeer(socket, instanceId), false);
        for (const producer of socket.data.peer.producers.values()) {
          await presence.addProducer(session.roomId, producer, false);
        }
        counts.peers++;
      }
      counts.rooms++;
    }
    return counts;
  }

  /**
   * Closes the session once no peer here uses it; closes the room on its media node too when
   * nobody anywhere is in it (presence in Redis counts every instance).
   */
  async releaseIfIdle(session: RoomSession, meta: CallMeta, logger: Logger): Promise<void> {
    if (session.peers.size > 0 || session.joining.size > 0 || session.closing) {
      return;
    }
    session.closing = true;
    // A new session of the room opens only after this release (its CloseRoom) is done.
    const releasing = this.#release(session, meta, logger).finally(() => {
      if (this.#releasing.get(session.roomId) === releasing) {
        this.#releasing.delete(session.roomId);
      }
    });
    this.#releasing.set(session.roomId, releasing);
    await releasing;
  }

  async #release(session: RoomSession, meta: CallMeta, logger: Logger): Promise<void> {
    this.#cancelWatches(session);
    await this.#forget(session);
    // Close the room only when no instance has it open (a peer elsewhere may be joining right now)
    // and nobody is in it.
    const openElsewhere = await this.#options.presence.closeSession(session.roomId, this.#options.instanceId);
    if (openElsewhere === 0 && (await this.#options.presence.count(session.roomId)) === 0) {
      await this.closeRoom(session.roomId, meta, logger);
      logger.info('room empty; closed on its media nodes');
    }
  }

  /** Closes the room on every node it spans and forgets where it was. */
  async closeRoom(roomId: string, meta: CallMeta, logger: Logger): Promise<void> {
    const nodes = await this.#options.directory.roomNodes(roomId);
    await Promise.all(
      nodes.map(async (node) => {
        await node
          .call('closeRoom', { roomId }, meta)
          .catch((error: unknown) =>
            logger.warn({ err: error, mediaNode: node.instanceId }, 'media node CloseRoom failed'),
          );
        await this.#options.directory.releaseRoom(roomId, node.instanceId);
      }),
    );
  }
}
