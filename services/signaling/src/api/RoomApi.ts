/**
 * What the server API (switchboard.rooms.v1.RoomService) does, whichever way it is called (gRPC
 * or REST: ApiServer decodes both into these requests, checks the key and its scope first). Every
 * request is validated here, once for both. Each action goes through the owner of the state it
 * changes: rooms through RoomStore, participants through HostControls and Attributes, exactly as
 * a host's socket would, so the room sees the same events.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { signJoinToken, wasRemoved } from '@switchboard/auth';
import type { RoomRecord, RoomStore } from '@switchboard/db';
import { AppError, NotFoundError, parseOrThrow, PermissionDeniedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import type { rooms } from '@switchboard/proto/api';
import {
  attributeKeySchema,
  attributeValueSchema,
  DEFAULT_SOURCE,
  displayNameSchema,
  mediaKindSchema,
  roomIdSchema,
  roomLabelSchema,
  roomPolicySchema,
  type ProducerInfo,
} from '@switchboard/protocol';
import type { StoredParticipant } from '@switchboard/rooms';
import type { Attributes } from '../Attributes';
import type { HostControls } from '../HostControls';
import type { MediaDirectory } from '../MediaDirectory';
import type { Presence } from '../Presence';

/**
 * Who is calling, already authenticated: `api:<key id>` (an API key) or `operator:<user id>` (a
 * signed-in operator, from the console), with the call's logger and correlation id.
 */
export interface ApiCaller {
  who: string;
  correlationId: string;
  logger: Logger;
}

export interface RoomApiOptions {
  rooms: RoomStore;
  presence: Presence;
  /** Which media nodes a room's call runs on. */
  directory: MediaDirectory;
  hostControls: HostControls;
  attributes: Attributes;
  /** Where removals are kept (a removed identity gets no token). */
  redis: Redis;
  jwtSecret: string;
  defaultTokenTtlSeconds: number;
}

const MAX_PAGE = 100;
const DEFAULT_PAGE = 50;

// proto3 has no "absent" for strings: empty means "not given" where a default exists.
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
const participantIdSchema = z.string().min(1, 'is required').max(64);
const identitySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.@:-]{1,128}$/, 'must be 1-128 letters, digits or _.@:- characters');

const createRoom = z.object({ name: optional(roomLabelSchema), policy: optional(roomPolicySchema) });
const listRooms = z.object({
  pageSize: z.number().int().min(0).max(MAX_PAGE, `must be at most ${MAX_PAGE}`),
  pageToken: z.string().max(200),
  live: z.boolean(),
});
const roomRef = z.object({ roomId: roomIdSchema });
const participantRef = z.object({ roomId: roomIdSchema, participantId: participantIdSchema });
const muteTrack = participantRef.extend({ kind: mediaKindSchema, allowUnmute: z.boolean() });
const updateParticipant = participantRef
  .extend({
    attributes: z.record(attributeKeySchema, attributeValueSchema),
    removeAttributes: z.array(attributeKeySchema).max(32),
    role: optional(z.enum(['host'], { message: 'may only be "host" (hosts are not demoted)' })),
  })
  .refine(
    (p) => Object.keys(p.attributes).length + p.removeAttributes.length > 0 || p.role !== undefined,
    'give attributes, removeAttributes or role',
  );
const createJoinToken = z.object({
  roomId: roomIdSchema,
  identity: identitySchema,
  displayName: displayNameSchema,
  role: optional(z.enum(['host', 'participant', 'guest'])),
  canPublish: z.boolean().optional(),
  canSubscribe: z.boolean().optional(),
  ttlSeconds: z
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 10 && n <= 86_400), 'must be 10-86400 (or 0: the default)'),
});

/** A page token: the last room of the page, opaque to callers. */
function pageToken(room: RoomRecord): string {
  return Buffer.from(JSON.stringify([room.createdAt.toISOString(), room.id])).toString('base64url');
}

function readPageToken(token: string): { createdAt: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime()) || typeof id !== 'string') {
      throw new Error('malformed');
    }
    return { createdAt, id };
  } catch {
    throw new AppError(
      'INVALID_ARGUMENT',
      'invalid pageToken: pass back the nextPageToken of the previous page',
    );
  }
}

export class RoomApi {
  readonly #o: RoomApiOptions;

  constructor(options: RoomApiOptions) {
    this.#o = options;
  }

  async #room(roomId: string): Promise<RoomRecord> {
    const room = await this.#o.rooms.get(roomId);
    if (!room) {
      throw new NotFoundError(`no room ${roomId}`);
    }
    return room;
  }

  async #roomJson(room: RoomRecord): Promise<rooms.Room> {
    return {
      id: room.id,
      name: room.name,
      policy: room.policy,
      path: `/r/${room.id}`,
      createdAt: room.createdAt.toISOString(),
      participantCount: await this.#o.presence.count(room.id),
      mediaNodes: (await this.#o.directory.roomNodes(room.id)).map((node) => node.instanceId),
    };
  }

  async createRoom(request: rooms.CreateRoomRequest, caller: ApiCaller): Promise<rooms.CreateRoomResponse> {
    const p = parseOrThrow(createRoom, request);
    const room = await this.#o.rooms.create({
      name: p.name ?? 'Meeting',
      policy: p.policy ?? 'open',
      ownerId: null,
    });
    caller.logger.info(
      { roomId: room.id, policy: room.policy, caller: caller.who },
      'room created through the API',
    );
    return { room: await this.#roomJson(room) };
  }

  async listRooms(request: rooms.ListRoomsRequest): Promise<rooms.ListRoomsResponse> {
    const p = parseOrThrow(listRooms, request);
    const size = p.pageSize || DEFAULT_PAGE;
    const page = await this.#o.rooms.list(size + 1, {
      after: p.pageToken ? readPageToken(p.pageToken) : undefined,
      ids: p.live ? await this.#o.directory.liveRooms() : undefined,
    });
    const more = page.length > size;
    const shown = page.slice(0, size);
    return {
      rooms: await Promise.all(shown.map((room) => this.#roomJson(room))),
      nextPageToken: more ? pageToken(shown[shown.length - 1]) : '',
    };
  }

  async getRoom(request: rooms.GetRoomRequest): Promise<rooms.GetRoomResponse> {
    const { roomId } = parseOrThrow(roomRef, request);
    return { room: await this.#roomJson(await this.#room(roomId)) };
  }

  async deleteRoom(request: rooms.DeleteRoomRequest, caller: ApiCaller): Promise<rooms.DeleteRoomResponse> {
    const { roomId } = parseOrThrow(roomRef, request);
    await this.#room(roomId);
    const disconnected = await this.#o.presence.count(roomId);
    await this.#o.hostControls.endRoom(roomId, 'The meeting was ended');
    await this.#o.rooms.delete(roomId);
    caller.logger.info({ roomId, disconnected, caller: caller.who }, 'room deleted through the API');
    return { disconnected };
  }

  async listParticipants(request: rooms.ListParticipantsRequest): Promise<rooms.ListParticipantsResponse> {
    const { roomId } = parseOrThrow(roomRef, request);
    await this.#room(roomId);
    const [stored, producers] = await Promise.all([
      this.#o.presence.stored(roomId),
      this.#o.presence.producers(roomId),
    ]);
    return { participants: stored.map((peer) => participantJson(peer, producers)) };
  }

  async removeParticipant(
    request: rooms.RemoveParticipantRequest,
    caller: ApiCaller,
  ): Promise<rooms.RemoveParticipantResponse> {
    const { roomId, participantId } = parseOrThrow(participantRef, request);
    await this.#o.hostControls.removeParticipant(roomId, participantId, caller.who);
    caller.logger.info(
      { roomId, target: participantId, caller: caller.who },
      'participant removed through the API',
    );
    return {};
  }

  async muteTrack(request: rooms.MuteTrackRequest, caller: ApiCaller): Promise<rooms.MuteTrackResponse> {
    const p = parseOrThrow(muteTrack, request);
    const muted = await this.#o.hostControls.muteParticipant(
      p.roomId,
      { peerId: p.participantId, kind: p.kind, disableUnmute: !p.allowUnmute },
      { correlationId: caller.correlationId },
    );
    caller.logger.info(
      {
        roomId: p.roomId,
        target: p.participantId,
        kind: p.kind,
        allowUnmute: p.allowUnmute,
        muted,
        caller: caller.who,
      },
      'participant muted through the API',
    );
    return { muted };
  }

  async updateParticipant(
    request: rooms.UpdateParticipantRequest,
    caller: ApiCaller,
  ): Promise<rooms.UpdateParticipantResponse> {
    const p = parseOrThrow(updateParticipant, request);
    const changes: Record<string, string | null> = { ...p.attributes };
    for (const key of p.removeAttributes) {
      if (key in changes) {
        throw new AppError('INVALID_ARGUMENT', `attribute ${key} is both set and removed`);
      }
      changes[key] = null;
    }
    if (Object.keys(changes).length > 0) {
      await this.#o.attributes.change(p.roomId, p.participantId, changes, caller.logger);
    }
    if (p.role === 'host') {
      await this.#o.hostControls.promoteParticipant(p.roomId, p.participantId);
    }
    const [peer, producers] = await Promise.all([
      this.#o.presence.peer(p.roomId, p.participantId),
      this.#o.presence.producers(p.roomId),
    ]);
    if (!peer) {
      throw new NotFoundError(`participant ${p.participantId} is not in this meeting`);
    }
    caller.logger.info(
      {
        roomId: p.roomId,
        target: p.participantId,
        keys: Object.keys(changes),
        role: p.role,
        caller: caller.who,
      },
      'participant updated through the API',
    );
    return { participant: participantJson(peer, producers) };
  }

  async createJoinToken(
    request: rooms.CreateJoinTokenRequest,
    caller: ApiCaller,
  ): Promise<rooms.CreateJoinTokenResponse> {
    const p = parseOrThrow(createJoinToken, request);
    const room = await this.#room(p.roomId);
    const role = p.role ?? 'participant';
    if (room.policy === 'locked' && role !== 'host') {
      throw new AppError(
        'FAILED_PRECONDITION',
        'this meeting is locked: only hosts can join; unlock it or make a host token',
      );
    }
    const sub = `api:${p.identity}`;
    if (await wasRemoved(this.#o.redis, room.id, { sub })) {
      throw new PermissionDeniedError(`identity ${p.identity} was removed from this meeting`);
    }
    const { token, expiresAt } = await signJoinToken(
      {
        room: room.id,
        sub,
        name: p.displayName,
        role,
        canPublish: p.canPublish ?? true,
        canSubscribe: p.canSubscribe ?? true,
      },
      this.#o.jwtSecret,
      p.ttlSeconds || this.#o.defaultTokenTtlSeconds,
    );
    caller.logger.info(
      { roomId: room.id, role, identity: p.identity, caller: caller.who },
      'join token issued through the API',
    );
    return { token, expiresAt: expiresAt.toISOString(), roomId: room.id };
  }
}

function participantJson(peer: StoredParticipant, producers: ProducerInfo[]): rooms.Participant {
  return {
    id: peer.peerId,
    displayName: peer.displayName,
    role: peer.role,
    identity: peer.sub,
    presence: peer.presence,
    attributes: peer.attributes,
    tracks: producers
      .filter((producer) => producer.peerId === peer.peerId)
      .map((producer) => ({
        id: producer.producerId,
        kind: producer.kind,
        source: producer.source ?? DEFAULT_SOURCE[producer.kind],
        muted: producer.paused,
      })),
  };
}
