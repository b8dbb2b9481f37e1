/**
 * Past calls (the analytics the events service records): hosts see the calls of the meetings they
 * host, operators every call, filtered by room and time. One call: its participants with join and
 * leave times and quality (p50/p95), and its quality samples over time for the timeline.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccessClaims } from '@switchboard/auth';
import type { CallStore, CallSummary, RoomStore } from '@switchboard/db';
import { NotFoundError, parseOrThrow, PermissionDeniedError } from '@switchboard/errors';
import { roomIdSchema } from '@switchboard/protocol';
import type { Accounts } from './Accounts';
import { requireUser } from './authRoutes';

const listQuery = z
  .object({
    room: roomIdSchema.optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
const callParams = z.object({ id: z.uuid('is not a call id') });

/** A call of a meeting deleted since keeps its history, under this label. */
const named = <T extends CallSummary>(call: T): T => ({
  ...call,
  roomName: call.roomName ?? '(deleted meeting)',
});

export function callRoutes(
  app: FastifyInstance,
  deps: { accounts: Accounts; rooms: RoomStore; calls: CallStore },
): void {
  /** The rooms whose calls this user may see (undefined: every room, an operator). */
  const visibleRooms = async (user: AccessClaims): Promise<Set<string> | undefined> => {
    if (user.operator) {
      return undefined;
    }
    const mine = await deps.rooms.listFor(user.userId, 1000);
    return new Set(mine.filter((room) => room.role === 'host').map((room) => room.id));
  };

  app.get('/api/calls', async (request) => {
    const user = await requireUser(deps.accounts, request);
    const q = parseOrThrow(listQuery, request.query, 'query');
    const visible = await visibleRooms(user);
    if (q.room && visible && !visible.has(q.room)) {
      throw new PermissionDeniedError('only hosts of this meeting (and operators) see its calls');
    }
    const roomIds = q.room ? [q.room] : visible ? [...visible] : undefined;
    const calls = await deps.calls.list({
      roomIds,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      limit: q.limit,
    });
    return { calls: calls.map(named) };
  });

  app.get('/api/calls/:id', async (request) => {
    const user = await requireUser(deps.accounts, request);
    const { id } = parseOrThrow(callParams, request.params, 'call id');
    const call = await deps.calls.get(id);
    const visible = await visibleRooms(user);
    // Someone else's call is "not found" too: its existence is not told.
    if (!call || (visible && !visible.has(call.roomId))) {
      throw new NotFoundError(`no call ${id} that you can see`);
    }
    return { call: named(call), samples: await deps.calls.samples(id) };
  });
}
