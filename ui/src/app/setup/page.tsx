import { Suspense } from 'react';
import { OperatorSetup } from '@/lib/OperatorSetup';

export default function Page() {
  return (
    <Suspense>
      <OperatorSetup />
    </Suspense>
  );
}
