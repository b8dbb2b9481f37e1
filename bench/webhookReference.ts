/**
 * The webhook benchmark's reference: the least a webhook relay can do. One consumer group on a
 * stream of its own, each entry signed (the same HMAC) and POSTed at once, acknowledged after the
 * answer; no delivery log, no retries, no Postgres. Run by bench/webhooks.ts as its own process:
 *   node --import tsx bench/webhookReference.ts <redis url> <stream> <receiver url> <secret>
 */
import { request } from 'node:http';
import { Redis } from 'ioredis';
import { signWebhook } from '@switchboard/events';

const [redisUrl, stream, target, secret] = process.argv.slice(2);
const redis = new Redis(redisUrl);
const GROUP = 'reference';
await redis.xgroup('CREATE', stream, GROUP, '$', 'MKSTREAM').catch(() => {});

const post = (body: string) =>
  new Promise<void>((resolve) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-switchboard-signature': signWebhook(secret, body) },
      },
      (res) => {
        res.resume();
        resolve();
      },
    );
    req.on('error', () => resolve());
    req.end(body);
  });

process.on('SIGTERM', () => {
  redis.disconnect();
  process.exit(0);
});
process.stdout.write('ready\n');
for (;;) {
  const read = (await redis.xreadgroup(
    'GROUP',
    GROUP,
    'ref',
    'COUNT',
    100,
    'BLOCK',
    2000,
    'STREAMS',
    stream,
    '>',
  )) as [string, [string, string[]][]][] | null;
  for (const [, entries] of read ?? []) {
    await Promise.all(entries.map(([, fields]) => post(fields[fields.indexOf('event') + 1])));
    if (entries.length > 0) {
      await redis.xack(stream, GROUP, ...entries.map(([id]) => id));
    }
  }
}
