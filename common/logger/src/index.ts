/**
 * One root pino logger per process, tagged with `service`. Writes JSON lines to stdout and, when a
 * log directory is configured, to `<dir>/<service>-<instance>.log` (what the log viewer tails).
 * Objects take children: `logger.child({ roomId, peerId, correlationId })`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Directory for the log file; empty or undefined writes to stdout only. */
  dir?: string;
  /** Distinguishes instances of one service in file names; defaults to the pid. */
  instance?: string;
  /** Also write to stdout (default true). */
  stdout?: boolean;
}

/** Field names whose values never reach a log line. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'auth.token',
  'headers.authorization',
  'req.headers.authorization',
  'password',
  '*.password',
  'dtlsParameters.fingerprints',
];

export interface RootLogger {
  logger: Logger;
  /** The file this process logs to, if any. */
  file?: string;
  /** Flushes the file stream (call before exit). */
  flush(): void;
}

export function createLogger(options: LoggerOptions): RootLogger {
  const streams: pino.StreamEntry[] = [];
  const level = (options.level ?? 'info') as pino.Level;
  if (options.stdout !== false) {
    streams.push({ level, stream: pino.destination({ dest: 1, sync: false }) });
  }
  let file: string | undefined;
  let fileStream: ReturnType<typeof pino.destination> | undefined;
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true });
    file = join(options.dir, `${options.service}-${options.instance ?? String(process.pid)}.log`);
    fileStream = pino.destination({ dest: file, append: true, sync: false, mkdir: true });
    streams.push({ level, stream: fileStream });
  }
  const logger = pino(
    {
      level,
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(streams.length > 0 ? streams : [{ level, stream: pino.destination(1) }]),
  );
  return {
    logger,
    file,
    flush() {
      try {
        fileStream?.flushSync();
      } catch {
        // flushSync throws while the stream is still opening; nothing to flush then.
      }
    },
  };
}
