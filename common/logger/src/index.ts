/**
 * One root pino logger per process, tagged with `service`. Writes JSON lines to stdout and, when a
 * log directory is configured, to `<dir>/<service>-<instance>.log` (what the log viewer tails),
 * rotated by size as logrotate does (rotating-file-stream): past the size the file becomes
 * `<name>.1`, older ones shift up to `<name>.<files>`, and the oldest is dropped.
 * Objects take children: `logger.child({ roomId, peerId, correlationId })`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';

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
  /** When the log file rotates (default: 10M, 5 rotated files kept). */
  rotation?: LogRotation;
}

export interface LogRotation {
  /** Rotate past this size: a whole number and B, K, M or G (`10M`). */
  size: string;
  /** Rotated files kept besides the current one. */
  files: number;
}

export const DEFAULT_ROTATION: LogRotation = { size: '10M', files: 5 };

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
  /** Resolves once every line logged so far is in the file (call before exit). */
  flush(): Promise<void>;
}

/** How long flush() waits for a stuck disk before giving up. */
const FLUSH_TIMEOUT_MS = 2000;

export function createLogger(options: LoggerOptions): RootLogger {
  const streams: pino.StreamEntry[] = [];
  const level = (options.level ?? 'info') as pino.Level;
  if (options.stdout !== false) {
    streams.push({ level, stream: pino.destination({ dest: 1, sync: false }) });
  }
  let file: string | undefined;
  let fileStream: RotatingFileStream | undefined;
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true });
    const name = `${options.service}-${options.instance ?? String(process.pid)}.log`;
    const rotation = options.rotation ?? DEFAULT_ROTATION;
    file = join(options.dir, name);
    fileStream = createStream(name, { path: options.dir, size: rotation.size, rotate: rotation.files });
    // A full or vanished disk must not take the service down: say so on stderr and go on.
    fileStream.on('error', (error: Error) => process.stderr.write(`log file ${file}: ${error.message}\n`));
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
      const stream = fileStream;
      if (!stream || stream.destroyed) {
        return Promise.resolve();
      }
      // Writes reach the file in order: once this empty one is done, so is everything before it.
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FLUSH_TIMEOUT_MS);
        stream.write('', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
