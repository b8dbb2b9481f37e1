/**
 * Who may join a room, changed from either side (a host's socket on signaling, or the gateway's
 * REST API) with the same effects: stored in Postgres, told to everyone in the room, and — when the
 * room opens — everyone waiting in its lobby let in.
 */
import type { RoomRecord, RoomStore } from '@switchboard/db';
import type { EventSink } from '@switchboard/events';
import type { RoomPolicy } from '@switchboard/protocol';
import type { LobbyEntry, RoomAccess } from './RoomAccess';

/** The socket.io room of a meeting's hosts (host-only notices go there). */
export const hostsRoom = (roomId: string) => `hosts:${roomId}`;
/** The socket.io room of one peer's socket (notices to it from any instance go there). */
export const peerRoom = (peerId: string) => `peer:${peerId}`;

/**
 * Emits to socket.io rooms on every signaling instance: signaling's own server, or the gateway's
 * Redis emitter (@socket.io/redis-emitter).
 */
export interface RoomBroadcaster {
  to(room: string): { emit(event: string, payload: unknown): unknown };
}

export interface RoomPolicyDeps {
  rooms: Pick<RoomStore, 'update' | 'addMember'>;
  access: RoomAccess;
  broadcast: RoomBroadcaster;
  /** Where \`participant.admitted\` goes (the event stream). */
  events: EventSink;
}

/**
 * Lets a lobby waiter in (taken out of the lobby by the caller, which only one caller can do):
 * remembered for its reconnects, a member if it is an account, told so, recorded as admitted by
 * \`by\` (a host's identity; none when opening the room let everyone in).
 */
export async function letIn(
  deps: RoomPolicyDeps,
  roomId: string,
  entry: LobbyEntry,
  by?: string,
): Promise<void> {
  deps.events.append({
    type: 'participant.admitted',
    roomId,
    peerId: entry.peerId,
    data: { sub: entry.sub, by },
  });
  await deps.access.admit(roomId, entry.sub);
  if (entry.sub.startsWith('user:')) {
    // An admitted account is a member from now on: next time it passes the lobby.
    await deps.rooms.addMember(roomId, entry.sub.slice(5), 'participant');
  }
  deps.broadcast.to(peerRoom(entry.peerId)).emit('admitted', {});
  deps.broadcast.to(hostsRoom(roomId)).emit('lobbyLeft', { peerId: entry.peerId, outcome: 'admitted' });
}

/**
 * Changes the room's policy; opening it lets everyone who was waiting in. Answers the room as
 * stored now (undefined if it is gone) and how many were let in.
 */
export async function changePolicy(
  deps: RoomPolicyDeps,
  roomId: string,
  policy: RoomPolicy,
): Promise<{ room: RoomRecord | undefined; admitted: number }> {
  const room = await deps.rooms.update(roomId, { policy });
  deps.broadcast.to(roomId).emit('policyChanged', { policy });
  let admitted = 0;
  if (policy === 'open') {
    for (const entry of await deps.access.waiting(roomId)) {
      // Taken out by one caller only (another host may be admitting at the same moment).
      if (await deps.access.leaveLobby(roomId, entry.peerId)) {
        await letIn(deps, roomId, entry);
        admitted++;
      }
    }
  }
  return { room, admitted };
}
