import { roomNameSchema } from '@switchboard/protocol';
import { Meeting } from '@/lib/Meeting';

export default async function RoomPage({
  params,
  searchParams,
}: {
  params: Promise<{ room: string }>;
  searchParams: Promise<{ name?: string | string[] }>;
}) {
  const { room } = await params;
  const { name } = await searchParams;
  const roomName = decodeURIComponent(room);
  const valid = roomNameSchema.safeParse(roomName);
  if (!valid.success) {
    return (
      <main>
        <div className="center">
          <h1>No such room name</h1>
          <p className="error" role="alert">
            “{roomName}” {valid.error.issues[0]?.message}.
          </p>
          <a href="/">Pick another room</a>
        </div>
      </main>
    );
  }
  return <Meeting room={roomName} initialName={typeof name === 'string' ? name : ''} />;
}
