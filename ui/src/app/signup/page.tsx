import { Suspense } from 'react';
import { AuthForm } from '@/lib/AuthForm';

export default function Page() {
  return (
    <Suspense>
      <AuthForm mode="signup" />
    </Suspense>
  );
}
