/**
 * The rooms this signaling instance has peers in. A session ties a room to its media node: the
 * router's capabilities, the WatchRoomEvents stream and the local peers (joined, or pending: they
 * asked for capabilities but have not joined). A session is opened once per room, released when no
 * local peer uses it (closing the room on the media node when nobody anywhere is in it), and lost
 * when the media node ends the stream under it.
 */
import { AppError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { rtpCapabilitiesFromProto, type WatchRoomEventsResponse } from '@switchboard/proto';
import type { RtpCapabilities } from '@switchboard/protocol';
import type { CallMeta, MediaClient } from './MediaClient';
import type { MediaDirectory } from './MediaDirectory';
import { storedPeer, type PeerSocket } from './peer';
import type { Presence } from './Presence';

export interface RoomSession {
  roomId: string;
  media: MediaClient;
  rtpCapabilities: RtpCapabilities;
  peers: Map<string, PeerSocket>;
  /** Peers here that opened the session (asked for capabilities) but have not joined yet. */
  pending: Set<string>;
  /** The room's loudest participant as the media node last said (told to each joiner). */
  activeSpeaker?: string;
  cancelWatch: () => void;
  /** Set once the session is being closed (so the stream's end is expected). */
  closing: boolean;
}

export interface RoomSessionsOptions {
  directory: MediaDirectory;
  /** This signaling instance's id (recorded with each open session). */
  instanceId: () => string;
  presence: Presence;
  logger: Logger;
  /** An event of the room's media node. */
  onEvent: (session: RoomSession, event: WatchRoomEventsResponse) => void;
  /** The media node ended the room (already forgotten here); its peers must go. */
  onLost: (session: RoomSession, error?: Error) => void;
}

export class RoomSessions {
  readonly #options: RoomSessionsOptions;
  readonly #sessions = new Map<string, Promise<RoomSession>>();

  constructor(options: RoomSessionsOptions) {
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

  /** The room's session, opening it (media node, router, event stream) once. */
  open(roomId: string, meta: CallMeta, logger: Logger): Promise<RoomSession> {
    let session = this.#sessions.get(roomId);
    if (!session) {
      session = this.#open(roomId, meta, logger);
      this.#sessions.set(roomId, session);
      session.catch(() => this.#sessions.delete(roomId));
    }
    return session;
  }

  async #open(roomId: string, meta: CallMeta, logger: Logger): Promise<RoomSession> {
    const media = await this.#options.directory.clientForRoom(roomId);
    const { rtpCapabilities } = await media.call('getRouterRtpCapabilities', { roomId }, meta);
    if (!rtpCapabilities) {
      throw new AppError('INTERNAL', 'media node returned no RTP capabilities');
    }
    const session: RoomSession = {
      roomId,
      media,
      rtpCapabilities: rtpCapabilitiesFromProto(rtpCapabilities),
      peers: new Map(),
      pending: new Set(),
      cancelWatch: () => {},
      closing: false,
    };
    await this.#options.presence.openSession(roomId, this.#options.instanceId());
    session.cancelWatch = media.watchRoomEvents(roomId, meta.correlationId, {
      onEvent: (event) => this.#options.onEvent(session, event),
      onEnd: (error) => {
        if (!session.closing) {
          void this.#lost(session, error);
        }
      },
    });
    logger.info({ mediaNode: media.instanceId }, 'room session opened');
    return session;
  }

  async #lost(session: RoomSession, error?: Error): Promise<void> {
    session.closing = true;
    this.#options.logger.error(
      { roomId: session.roomId, err: error, mediaNode: session.media.instanceId, peers: session.peers.size },
      'media node ended the room; disconnecting its peers',
    );
    await this.#forget(session);
    await this.#options.presence.closeSession(session.roomId, this.#options.instanceId()).catch(() => 0);
    await this.#options.directory.releaseRoom(session.roomId, session.media.instanceId).catch(() => {});
    this.#options.onLost(session, error);
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
      await presence.openSession(session.roomId, instanceId());
      const node = await directory.restoreRoom(session.roomId, session.media.instanceId);
      if (node !== session.media.instanceId) {
        // Someone opened the room on another node in the gap: the two halves cannot see each other.
        logger.error(
          { roomId: session.roomId, mediaNode: session.media.instanceId, otherNode: node },
          'room split across media nodes while Redis was empty',
        );
      }
      for (const socket of session.peers.values()) {
        await presence.addPeer(session.roomId, storedPeer(socket, instanceId()));
        for (const producer of socket.data.peer.producerInfo.values()) {
          await presence.addProducer(session.roomId, producer);
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
    if (session.peers.size > 0 || session.pending.size > 0 || session.closing) {
      return;
    }
    session.closing = true;
    session.cancelWatch();
    await this.#forget(session);
    // Close the room only when no instance has it open (a peer elsewhere may be joining right now)
    // and nobody is in it.
    const openElsewhere = await this.#options.presence.closeSession(
      session.roomId,
      this.#options.instanceId(),
    );
    if (openElsewhere === 0 && (await this.#options.presence.count(session.roomId)) === 0) {
      await session.media
        .call('closeRoom', { roomId: session.roomId }, meta)
        .catch((error: unknown) => logger.warn({ err: error }, 'media node CloseRoom failed'));
      await this.#options.directory.releaseRoom(session.roomId, session.media.instanceId);
      logger.info('room empty; closed on media node');
    }
  }
}
