/**
 * vitest setup: point at the mediasoup worker and Consul binary the scripts prepared, so
 * `npx vitest` works directly after one `npm test` (which sets these itself).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const version = (
  JSON.parse(readFileSync(join(root, 'services/media/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  }
).dependencies.mediasoup.replace(/^[^0-9]*/, '');
const cache =
  process.env.SWITCHBOARD_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'switchboard');
const worker = join(cache, 'mediasoup-worker', version, 'bin/mediasoup-worker');
if (!process.env.MEDIASOUP_WORKER_BIN && existsSync(worker)) {
  process.env.MEDIASOUP_WORKER_BIN = worker;
}
