/**
 * Process lifecycle shared by every service's server.ts: start the service object, close it on
 * SIGTERM/SIGINT (deregistering from Consul and closing pools happens in its close()), exit
 * non-zero when it cannot start, and never hang longer than the grace period.
 */
import type { RootLogger } from '@switchboard/logger';

export interface Closable {
  close(): Promise<void>;
}

export async function runService(
  root: RootLogger,
  start: () => Promise<Closable>,
  options: { graceMs?: number } = {},
): Promise<void> {
  const { logger, flush } = root;
  let service: Closable | undefined;
  let stopping = false;

  const shutdown = async (reason: string, code: number) => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ graceMs: options.graceMs ?? 10_000 }, 'shutdown took too long; exiting');
      void flush().finally(() => process.exit(1));
    }, options.graceMs ?? 10_000);
    timer.unref();
    try {
      await service?.close();
    } catch (error) {
      logger.error({ err: error }, 'error while closing');
      code = code || 1;
    }
    await flush();
    process.exit(code);
  };

  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    void shutdown('uncaughtException', 1);
  });
  process.on('unhandledRejection', (error) => {
    logger.error({ err: error }, 'unhandled promise rejection');
  });

  try {
    service = await start();
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    await flush();
    process.exit(1);
  }
  if (stopping) {
    await service.close();
  }
}

export { takePoint } from './rateLimit';
export { ExpiringMap } from './ExpiringMap';
export { LocalBudget, type LocalBudgetOptions } from './LocalBudget';
export { timedRequest, type TimedOutcome } from './timedRequest';
export { serveOps, type Health } from './ops';
export { safePublisher } from './safePublisher';
export { startOnce } from './startOnce';

/**
 * Closes a Redis client: QUIT (pending replies arrive) for at most `timeoutMs`, then drops the
 * connection, so a service shutting down while Redis is unreachable does not wait for it forever.
 */
export async function closeRedis(
  redis: { quit(): Promise<unknown>; disconnect(): void },
  timeoutMs = 1000,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    redis.quit().catch(() => {}),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
  redis.disconnect();
}
export { guardedLookup, internalAddressOf, isInternalAddress } from './addresses';
