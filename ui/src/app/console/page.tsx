import { Console } from '@/lib/console/Console';

export default function Page() {
  return <Console />;
}
