/**
 * A room's chat over REST, for its members only: history by sequence (keyset pages) and
 * full-text search. A member is an account that hosts or was admitted to the room (session
 * cookie or access token), or the holder of a join token for the room (`Authorization: Bearer
 * <join token>`, what a guest in the call has) who was let into the call: a guest waiting in the
 * lobby, or refused there, reads nothing. Private messages are visible to their sender and
 * recipient only, here as in the call.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { verifyJoinToken, wasAdmitted, wasRemoved } from '@switchboard/auth';
import type { ChatReader, ChatStore, RoomRecord, RoomStore } from '@switchboard/db';
import { parseOrThrow, PermissionDeniedError, UnauthenticatedError } from '@switchboard/errors';
import { chatSearchQuerySchema, chatSeqSchema } from '@switchboard/protocol';
import type { Accounts } from './Accounts';
import { requestUser } from './authRoutes';
import { loadRoom } from './roomRoutes';

const historyQuery = z.strictObject({
  before: z.coerce.number().pipe(chatSeqSchema).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const searchQuery = z.strictObject({
  q: chatSearchQuerySchema,
  limit: z.coerce.number().int().min(1).max(50).default(20),
});

export interface ChatRoutesDeps {
  accounts: Accounts;
  rooms: RoomStore;
  chat: ChatStore;
  redis: Redis;
  secret: string;
}

export function chatRoutes(app: FastifyInstance, deps: ChatRoutesDeps): void {
  /** The room and who reads it; refuses anyone who is not a member. */
  const readerOf = async (request: FastifyRequest): Promise<ChatReader> => {
    const room = await loadRoom(deps.rooms, request.params);
    const sub = (await joinTokenSubject(request, room, deps)) ?? (await memberSubject(request, room, deps));
    return { roomId: room.id, sub };
  };

  app.get('/api/rooms/:room/messages', async (request) => {
    const reader = await readerOf(request);
    const query = parseOrThrow(historyQuery, request.query, 'query');
    return deps.chat.history(reader, query);
  });

  app.get('/api/rooms/:room/messages/search', async (request) => {
    const reader = await readerOf(request);
    const query = parseOrThrow(searchQuery, request.query, 'query');
    return { results: await deps.chat.search(reader, query.q, query.limit) };
  });
}

/** A bearer join token for this room (not removed since): its subject. */
async function joinTokenSubject(
  request: FastifyRequest,
  room: RoomRecord,
  deps: ChatRoutesDeps,
): Promise<string | undefined> {
  const header = request.headers.authorization;
  if (!header?.startsWith('Bearer ')) {
    return undefined;
  }
  const claims = await verifyJoinToken(header.slice(7), deps.secret).catch(() => undefined);
  if (!claims) {
    return undefined; // perhaps an access token: the member check reads it
  }
  if (claims.room !== room.id) {
    throw new PermissionDeniedError('this join token is for another meeting');
  }
  if (await wasRemoved(deps.redis, room.id, { ...claims, address: request.ip })) {
    throw new PermissionDeniedError('a host removed you from this meeting');
  }
  // A token is not a seat: its holder reads the chat once let into the call (or as a host or member).
  const member =
    claims.role === 'host' ||
    (await wasAdmitted(deps.redis, room.id, claims.sub)) ||
    (claims.sub.startsWith('user:') && !!(await deps.rooms.memberRole(room.id, claims.sub.slice(5))));
  if (!member) {
    throw new PermissionDeniedError("this meeting's chat opens to you once a host lets you in");
  }
  return claims.sub;
}

/** A signed-in account that owns, hosts or was admitted to the room: `user:<id>`. */
async function memberSubject(
  request: FastifyRequest,
  room: RoomRecord,
  deps: ChatRoutesDeps,
): Promise<string> {
  const user = await requestUser(deps.accounts, request);
  if (!user) {
    throw new UnauthenticatedError('sign in, or send the join token of this meeting as a bearer token');
  }
  const member = room.ownerId === user.userId || (await deps.rooms.memberRole(room.id, user.userId));
  if (!member) {
    throw new PermissionDeniedError("only this meeting's members can read its chat");
  }
  return `user:${user.userId}`;
}
