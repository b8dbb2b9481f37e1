/**
 * Participant attributes (LiveKit's `setAttributes`): who may change which key, the server's own
 * values for the keys it gives meaning to (ATTRIBUTE_RULES: a raised hand's time), the limits, and
 * one `attributesChanged` event to the room. The room's participants (ParticipantStore) own the
 * values; the instance holding a participant's socket keeps a copy on its PeerState, to write
 * back if Redis loses its data (other instances tell it of changes through `peerAttributes`).
 *
 * A raised hand drops on its own when its owner has been speaking for HAND_SPEAKING_MS.
 */
import { AppError, NotFoundError, PermissionDeniedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import {
  ATTRIBUTE_RULES,
  attributesFit,
  type AudioLevel,
  type ParticipantAttributes,
  type ResponseMap,
} from '@switchboard/protocol';
import type { HostControls } from './HostControls';
import type { LocalSockets } from './LocalSockets';
import type { RequestContext } from './MediaRequests';
import { joinedPeer, type PeerSocket, type SignalingIo } from './peer';
import type { Presence } from './Presence';

/** Speaking this long (audible in the room's audio levels, with gaps under SPEAKING_GAP_MS) lowers a raised hand. */
export const HAND_SPEAKING_MS = 4000;
const SPEAKING_GAP_MS = 1500;

export interface AttributesOptions {
  io: SignalingIo;
  presence: Presence;
  hostControls: HostControls;
  /** The sockets connected here (the holder of a participant's socket keeps its attributes). */
  sockets: LocalSockets;
  logger: Logger;
}

export class Attributes {
  readonly #o: AttributesOptions;
  /** When each local participant with a raised hand started speaking, and was last heard. */
  readonly #speaking = new Map<string, { since: number; lastHeard: number }>();

  constructor(options: AttributesOptions) {
    this.#o = options;
  }

  /** `setAttributes`: the sender's own attributes, or (hosts) the keys they may change of others. */
  async set(
    socket: PeerSocket,
    p: { peerId?: string; attributes: Record<string, string | null> },
    ctx: RequestContext,
  ): Promise<ResponseMap['setAttributes']> {
    const sender = joinedPeer(socket);
    const targetId = p.peerId ?? sender.peerId;
    const own = targetId === sender.peerId;
    if (!own) {
      await this.#o.hostControls.requireHost(socket);
      for (const [key, value] of Object.entries(p.attributes)) {
        if (ATTRIBUTE_RULES[key]?.hostMay !== 'clear' || value !== null) {
          throw new PermissionDeniedError(
            `you may change only your own attributes; a host may only clear ${Object.keys(ATTRIBUTE_RULES).join(', ')} of others`,
          );
        }
      }
    }
    const attributes = await this.change(sender.roomId, targetId, p.attributes, ctx.logger);
    return { attributes };
  }

  /**
   * Changes a participant's attributes (`null` clears a key) within the limits, told to the room
   * once; whoever asks was checked (the sender's socket above, or the server API's key scope).
   */
  async change(
    roomId: string,
    targetId: string,
    requested: Record<string, string | null>,
    logger: Logger,
  ): Promise<ParticipantAttributes> {
    const current = await this.#o.presence.peer(roomId, targetId);
    if (!current) {
      throw new NotFoundError(`participant ${targetId} is not in this meeting`);
    }
    const changes = this.#serverValues(current.attributes, requested);
    const merged = { ...current.attributes };
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) {
        delete merged[key];
      } else {
        merged[key] = value;
      }
    }
    const tooBig = attributesFit(merged);
    if (tooBig) {
      throw new AppError('INVALID_ARGUMENT', tooBig);
    }
    const changed = Object.fromEntries(
      Object.entries(changes).filter(([key, value]) => (current.attributes[key] ?? null) !== value),
    );
    if (Object.keys(changed).length === 0) {
      return current.attributes;
    }
    const attributes = await this.#apply(roomId, targetId, changed);
    logger.info({ target: targetId, keys: Object.keys(changed) }, 'attributes changed');
    return attributes;
  }

  /** The values the server decides: a raised hand is stamped with the server's time, once. */
  #serverValues(
    current: ParticipantAttributes,
    requested: Record<string, string | null>,
  ): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(requested)) {
      if (value !== null && ATTRIBUTE_RULES[key]?.value === 'serverTime') {
        // Raising a hand already up keeps its place in the queue.
        out[key] = current[key] ?? String(Date.now());
      } else {
        out[key] = value;
      }
    }
    return out;
  }

  /** Writes the change, keeps the holder's copy current, tells the room. */
  async #apply(
    roomId: string,
    peerId: string,
    changed: Record<string, string | null>,
  ): Promise<ParticipantAttributes> {
    const updated = await this.#o.presence.update(roomId, peerId, { attributes: changed });
    if (!updated) {
      throw new NotFoundError(`participant ${peerId} is not in this meeting`);
    }
    this.remember(peerId, updated.attributes);
    this.#o.io.serverSideEmit('peerAttributes', peerId, updated.attributes);
    this.#o.io.to(roomId).emit('attributesChanged', { peerId, attributes: updated.attributes, changed });
    return updated.attributes;
  }

  /** Keeps the copy of a participant connected here (from this instance or another's change). */
  remember(peerId: string, attributes: ParticipantAttributes): void {
    const socket = this.#o.sockets.get(peerId);
    if (socket) {
      socket.data.peer.attributes = attributes;
    }
    if (!attributes.hand) {
      this.#speaking.delete(peerId);
    }
  }

  /**
   * The room's audio levels (from its home node, relayed by every instance): a local participant
   * whose hand is up and who has been speaking for HAND_SPEAKING_MS gets it lowered.
   */
  onAudioLevels(roomId: string, levels: AudioLevel[], now = Date.now()): void {
    for (const { peerId } of levels) {
      const socket = this.#o.sockets.get(peerId);
      if (!socket?.data.peer.attributes.hand || socket.data.peer.roomId !== roomId) {
        continue;
      }
      const previous = this.#speaking.get(peerId);
      const since = previous && now - previous.lastHeard <= SPEAKING_GAP_MS ? previous.since : now;
      this.#speaking.set(peerId, { since, lastHeard: now });
      if (now - since >= HAND_SPEAKING_MS) {
        this.#speaking.delete(peerId);
        this.#apply(roomId, peerId, { hand: null })
          .then(() => this.#o.logger.info({ roomId, peerId }, 'hand lowered: its owner spoke'))
          .catch((error: unknown) =>
            this.#o.logger.warn({ err: error, roomId, peerId }, 'could not lower a hand'),
          );
      }
    }
  }

  /** A participant left: nothing to track for it any more. */
  forget(peerId: string): void {
    this.#speaking.delete(peerId);
  }
}
