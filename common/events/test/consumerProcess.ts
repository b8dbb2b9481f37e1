/**
 * One event consumer in a process of its own, for the crash tests: it records each event it
 * handles (idempotently, by event id) and, with STOP_AFTER, stops answering after that many —
 * handled but not acknowledged — so the test can kill it there like a crash.
 */
import { Redis } from 'ioredis';
import { createLogger } from '@switchboard/logger';
import { EventConsumer } from '../src';

const { REDIS_URL, STREAM, GROUP, CONSUMER, OUT, STOP_AFTER } = process.env as Record<string, string>;
const redis = new Redis(REDIS_URL);
const { logger } = createLogger({ service: 'events-test', level: 'warn' });
let handled = 0;
await EventConsumer.create({
  redis,
  logger,
  stream: STREAM,
  group: GROUP,
  consumer: CONSUMER,
  blockMs: 200,
  handle: async (event) => {
    await redis.hsetnx(OUT, event.id, CONSUMER);
    await redis.rpush(`${OUT}:deliveries`, event.id);
    handled++;
    if (STOP_AFTER && handled >= Number(STOP_AFTER)) {
      await new Promise(() => {}); // hangs before the acknowledgement: the test kills us here
    }
  },
});
