import { Meet } from '@/lib/meet/Meet';

export default function Page() {
  return <Meet />;
}
