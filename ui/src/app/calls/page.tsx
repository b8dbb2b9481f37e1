import { Suspense } from 'react';
import { CallList } from '@/lib/calls/CallList';

export default function Page() {
  return (
    <Suspense>
      <CallList />
    </Suspense>
  );
}
