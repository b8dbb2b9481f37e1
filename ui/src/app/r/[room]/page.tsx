import { roomIdSchema } from '@switchboard/protocol';
import { Notice } from '@/lib/Notice';
import { RoomGate } from '@/lib/RoomGate';

export default async function RoomPage({
  params,
  searchParams,
}: {
  params: Promise<{ room: string }>;
  searchParams: Promise<{ name?: string | string[] }>;
}) {
  const { room } = await params;
  const { name } = await searchParams;
  const roomId = decodeURIComponent(room);
  const valid = roomIdSchema.safeParse(roomId);
  if (!valid.success) {
    return <Notice title="No such meeting link" message={`“${roomId}” ${valid.error.issues[0]?.message}.`} />;
  }
  return <RoomGate room={roomId} initialName={typeof name === 'string' ? name : ''} />;
}
