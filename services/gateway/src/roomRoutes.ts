/**
 * Rooms: signed-in users create them (and host them), list theirs, change their policy; anyone
 * with a link asks for a join token, whose grants depend on who asks and the room's policy.
 * Signaling enforces the same policy (lobby, locked, removals) on the socket.
 */
import { randomUUID } from 'node:crypto';
import type { Emitter } from '@socket.io/redis-emitter';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { signJoinToken, verifyJoinToken, wasRemoved, type AccessClaims } from '@switchboard/auth';
import type { RoomRecord, RoomStore } from '@switchboard/db';
import type { EventSink } from '@switchboard/events';
import { changePolicy, ParticipantStore, RoomAccess } from '@switchboard/rooms';
import {
  InvalidArgumentError,
  NotFoundError,
  parseOrThrow,
  PermissionDeniedError,
} from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import {
  displayNameSchema,
  roomIdSchema,
  roomLabelSchema,
  hostPolicySchema,
  type JoinGrants,
  type Role,
} from '@switchboard/protocol';
import { parseBody } from './parseBody';
import type { Accounts } from './Accounts';
import { requestUser, requireUser } from './authRoutes';
import type { TurnCredentials } from './TurnCredentials';

const createRoomBody = z
  .object({ name: roomLabelSchema.optional(), policy: hostPolicySchema.optional() })
  .strict();
const updateRoomBody = z
  .object({ name: roomLabelSchema.optional(), policy: hostPolicySchema.optional() })
  .strict()
  .refine((body) => body.name !== undefined || body.policy !== undefined, 'give name or policy');
const tokenBody = z
  .object({
    displayName: displayNameSchema.optional(),
    /** A join token the caller already holds (an integrator's, from the server API's CreateJoinToken). */
    token: z.string().min(1).max(4096).optional(),
  })
  .strict()
  .refine((b) => !(b.displayName && b.token), {
    message: 'give displayName or token, not both (a token carries its name)',
  });
const roomParams = z.object({ room: roomIdSchema });

export interface RoomRoutesDeps {
  accounts: Accounts;
  rooms: RoomStore;
  redis: Redis;
  /** Tells the room's sockets (on any signaling instance) about a change. */
  emitter: Emitter;
  /** Lifecycle events of what the API changes (admissions when a policy change opens the room). */
  events: EventSink;
  secret: string;
  tokenTtlSeconds: number;
  /** Hands out TURN credentials with each join token (absent: no TURN). */
  turn?: TurnCredentials;
  logger: Logger;
}

export function roomJson(room: RoomRecord) {
  return {
    id: room.id,
    name: room.name,
    policy: room.policy,
    path: `/r/${room.id}`,
    createdAt: room.createdAt.toISOString(),
  };
}

/** The role an account has in a room (the owner and promoted members host). */
async function roleOf(rooms: RoomStore, room: RoomRecord, user: AccessClaims): Promise<Role | undefined> {
  if (room.ownerId === user.userId) {
    return 'host';
  }
  return rooms.memberRole(room.id, user.userId);
}

/** The room a route's `:room` names: 400 for a malformed id, 404 when no room has it. */
export async function loadRoom(rooms: RoomStore, params: unknown): Promise<RoomRecord> {
  const { room } = parseOrThrow(roomParams, params, 'room id');
  const record = await rooms.get(room);
  if (!record) {
    throw new NotFoundError('no meeting has this link; check it with whoever sent it');
  }
  return record;
}

export function roomRoutes(app: FastifyInstance, deps: RoomRoutesDeps): void {
  const { accounts, rooms } = deps;
  const load = (params: unknown) => loadRoom(rooms, params);
  // Rooms' participants and lobbies through their owner (common/rooms), the code signaling uses.
  const participantStore = new ParticipantStore(deps.redis);
  const policyDeps = {
    rooms,
    access: new RoomAccess(deps.redis),
    broadcast: deps.emitter,
    events: deps.events,
  };

  app.post('/api/rooms', async (request, reply) => {
    const user = await requireUser(accounts, request);
    const body = parseBody(createRoomBody, request);
    const room = await rooms.create({
      name: body.name ?? `${user.displayName}'s meeting`,
      policy: body.policy ?? 'open',
      ownerId: user.userId,
    });
    deps.logger.info({ roomId: room.id, userId: user.userId, policy: room.policy }, 'room created');
    return reply.status(201).send({ ...roomJson(room), role: 'host' });
  });

  app.get('/api/rooms', async (request) => {
    const user = await requireUser(accounts, request);
    const list = await rooms.listFor(user.userId);
    return { rooms: list.map((room) => ({ ...roomJson(room), role: room.role })) };
  });

  // Anyone with the link sees the label and policy; only members see who is in the room.
  app.get('/api/rooms/:room', async (request) => {
    const room = await load(request.params);
    const user = await requestUser(accounts, request).catch(() => undefined);
    const role = user && (await roleOf(rooms, room, user));
    if (!role) {
      return roomJson(room);
    }
    const participants = (await participantStore.peers(room.id)).map(
      ({ peerId, displayName, role: peerRole }) => ({ peerId, displayName, role: peerRole }),
    );
    return { ...roomJson(room), role, participants };
  });

  app.patch('/api/rooms/:room', async (request) => {
    const room = await load(request.params);
    const user = await requireUser(accounts, request);
    if ((await roleOf(rooms, room, user)) !== 'host') {
      throw new PermissionDeniedError('only a host of this meeting can change it');
    }
    const body = parseBody(updateRoomBody, request);
    let updated = room;
    let admitted = 0;
    if (body.policy) {
      // As a host's socket changes it: told to the room, and opening it lets the lobby in.
      const changed = await changePolicy(policyDeps, room.id, body.policy);
      updated = changed.room ?? updated;
      admitted = changed.admitted;
    }
    if (body.name) {
      updated = (await rooms.update(room.id, { name: body.name })) ?? updated;
    }
    deps.logger.info({ roomId: room.id, userId: user.userId, ...body, admitted }, 'room updated');
    return { ...roomJson(updated), role: 'host' };
  });

  app.post('/api/rooms/:room/tokens', async (request, reply) => {
    const room = await load(request.params);
    const body = parseBody(tokenBody, request);
    let grants: JoinGrants;
    let issued: { token: string; expiresAt: Date } | undefined;
    if (body.token) {
      // An integrator's join token (CreateJoinToken): checked here as signaling will check it, and
      // answered as is with this deployment's TURN credentials, so its holder joins from the UI.
      const { jti: _jti, exp, ...claims } = await verifyJoinToken(body.token, deps.secret);
      if (claims.room !== room.id) {
        throw new PermissionDeniedError('this join token is for another meeting');
      }
      grants = claims;
      issued = { token: body.token, expiresAt: new Date(exp * 1000) };
    } else {
      const user = await requestUser(accounts, request);
      if (user) {
        const role = await roleOf(rooms, room, user);
        grants = {
          room: room.id,
          sub: `user:${user.userId}`,
          name: body.displayName ?? user.displayName,
          role: role === 'host' ? 'host' : 'participant',
          canPublish: true,
          canSubscribe: true,
        };
      } else {
        if (!body.displayName) {
          throw new InvalidArgumentError('invalid body: displayName: required to join as a guest');
        }
        grants = {
          room: room.id,
          sub: `guest:${randomUUID()}`,
          name: body.displayName,
          role: 'guest',
          canPublish: true,
          canSubscribe: true,
        };
      }
    }
    if (room.policy === 'private' && !issued) {
      throw new PermissionDeniedError('this meeting is by invitation only: open the link you were sent');
    }
    if (room.policy === 'locked' && grants.role !== 'host') {
      throw new PermissionDeniedError('this meeting is locked: no one new can join');
    }
    if (await wasRemoved(deps.redis, room.id, { sub: grants.sub, address: request.ip })) {
      throw new PermissionDeniedError('a host removed you from this meeting');
    }
    const { token, expiresAt } = issued ?? (await signJoinToken(grants, deps.secret, deps.tokenTtlSeconds));
    const iceServers = (await deps.turn?.iceServers(grants.sub)) ?? [];
    deps.logger.info({ roomId: room.id, role: grants.role, displayName: grants.name }, 'join token issued');
    return reply.status(201).send({
      token,
      expiresAt: expiresAt.toISOString(),
      room: room.id,
      roomName: room.name,
      policy: room.policy,
      displayName: grants.name,
      role: grants.role,
      canPublish: grants.canPublish,
      canSubscribe: grants.canSubscribe,
      iceServers,
    });
  });
}
