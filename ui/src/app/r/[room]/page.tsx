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
  return <Meeting room={decodeURIComponent(room)} initialName={typeof name === 'string' ? name : ''} />;
}
