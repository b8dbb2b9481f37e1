/**
 * The server API (`/api/v1/`: RoomService and NodeService) as the console calls it: with the
 * operator's session cookie and the CSRF header, which the server API requires before it takes a
 * session instead of an API key. The types are the protos' (ts-proto's JSON shapes).
 */
import type { nodes, rooms } from '@switchboard/proto/api';
import { api, errorMessage } from '../api';

export type MediaNode = nodes.MediaNode;
export type Room = rooms.Room;
export type Participant = rooms.Participant;

export class ServerApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function call<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
  const response = await api(`/api/v1/${path}`, { method, body, session: true });
  if (!response.ok) {
    throw new ServerApiError(await errorMessage(response), response.status);
  }
  return (await response.json()) as T;
}

export const serverApi = {
  nodes: () => call<nodes.ListNodesResponse>('nodes').then((r) => r.nodes),
  liveRooms: () => call<rooms.ListRoomsResponse>('rooms?live=true&pageSize=100').then((r) => r.rooms),
  participants: (roomId: string) =>
    call<rooms.ListParticipantsResponse>(`rooms/${encodeURIComponent(roomId)}/participants`).then(
      (r) => r.participants,
    ),
  drain: (nodeId: string, deadlineSeconds: number) =>
    call<nodes.DrainNodeResponse>(`nodes/${encodeURIComponent(nodeId)}/drain`, 'POST', { deadlineSeconds }),
  endRoom: (roomId: string) =>
    call<rooms.DeleteRoomResponse>(`rooms/${encodeURIComponent(roomId)}`, 'DELETE'),
  remove: (roomId: string, participantId: string) =>
    call<rooms.RemoveParticipantResponse>(
      `rooms/${encodeURIComponent(roomId)}/participants/${encodeURIComponent(participantId)}`,
      'DELETE',
    ),
};
