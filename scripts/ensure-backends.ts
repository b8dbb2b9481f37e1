/** For `npm test`: makes sure the test PostgreSQL database and Redis answer (starting local ones). */
import { ensurePostgres, ensureRedis, StackError } from './backends';

const log = (line: string) => process.stdout.write(`${line}\n`);
const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/switchboard_test';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
try {
  await ensurePostgres(databaseUrl, { explicit: !!process.env.TEST_DATABASE_URL, log });
  await ensureRedis(redisUrl, { explicit: !!process.env.TEST_REDIS_URL, log });
} catch (error) {
  process.stderr.write(`error: ${error instanceof StackError ? error.message : String(error)}\n`);
  process.exit(1);
}
