/**
 * npm run bench [-- grpc|join|auth|chat|effects|events|webhooks|match|scrape|capacity]: the benchmarks.
 * Results are printed; docs/benchmarks.md keeps the numbers of the last recorded run. `capacity`
 * (about 25 minutes, a worker driven to saturation) runs only when named. Ratios within one run
 * matter more than absolute times (the machine has 2 cores and is noisy).
 */
import { benchAuth } from './auth';
import { benchCapacity } from './capacity';
import { benchChat } from './chat';
import { benchEffects } from './effects';
import { benchEvents } from './events';
import { benchGrpc } from './grpc';
import { benchJoin } from './join';
import { benchMatch } from './match';
import { benchScrape } from './scrape';
import { benchWebhooks } from './webhooks';

const which = process.argv[2] ?? 'all';
const log = (line: string) => process.stdout.write(`${line}\n`);

if (which === 'all' || which === 'grpc') {
  log('==> signaling→media gRPC unary latency (loopback)');
  await benchGrpc(log);
}
if (which === 'all' || which === 'join') {
  log('==> 3rd and 4th joiner: click Join → all remote videos playing, ours vs a plain mediasoup page');
  await benchJoin(log);
}
if (which === 'all' || which === 'auth') {
  log('==> sign-in and session refresh latency (gateway, argon2id, Postgres, Redis)');
  await benchAuth(log);
}
if (which === 'all' || which === 'chat') {
  log('==> chat: send → deliver latency under load, ours vs bare ws and bare socket.io fan-outs');
  await benchChat(log);
}
if (which === 'all' || which === 'effects') {
  log('==> background blur and noise suppression: CPU of one pre-join page in a browser of its own');
  await benchEffects(log);
}
if (which === 'all' || which === 'events') {
  log('==> lifecycle events on the join path: join + leave through ParticipantStore, events on vs off');
  await benchEvents(log);
}
if (which === 'all' || which === 'webhooks') {
  log('==> webhooks: event appended → signed POST received, events service vs a bare relay');
  await benchWebhooks(log);
}
if (which === 'all' || which === 'match') {
  log(
    '==> Meet someone: entering the queue → matched, with 1,000 waiting, 2 signaling instances vs an in-memory socket.io matchmaker',
  );
  await benchMatch(log);
}
if (which === 'all' || which === 'scrape') {
  log('==> a Prometheus scrape with 10,000 sockets open: event-loop time, ours vs prom-client defaults');
  await benchScrape(log);
}
if (which === 'capacity') {
  log('==> capacity at saturation: consumers per worker core at ≤ 1 % loss, ours vs bare mediasoup');
  await benchCapacity(log);
}
// libwebrtc's threads (the join bench's synthetic publishers) may crash while Node tears the
// process down: leave with our own exit code first.
await new Promise((resolve) => setTimeout(resolve, 500));
process.exit(process.exitCode ?? 0);
