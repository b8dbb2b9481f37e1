import { CallPage } from '@/lib/calls/CallPage';

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <CallPage id={decodeURIComponent(id)} />;
}
