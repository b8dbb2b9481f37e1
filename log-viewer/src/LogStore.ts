/**
 * Tails every `*.log` file (pino JSON lines) in a directory, keeps the newest entries in memory
 * for search, and tells subscribers about each new entry. New files are picked up as services
 * start; truncated files are re-read from the start.
 */
import { EventEmitter } from 'node:events';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

export interface LogEntry {
  /** Monotonic sequence number (arrival order). */
  seq: number;
  time: string;
  service: string;
  level: string;
  msg: string;
  /** The whole parsed line. */
  data: Record<string, unknown>;
  /** The raw line, lower-cased, for free-text search. */
  haystack: string;
}

export interface LogFilter {
  service?: string;
  /** Minimum level. */
  level?: Level;
  /** Case-insensitive substring of the raw line; several words must all match. */
  q?: string;
}

const PINO_LEVELS: Record<number, Level> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

export function levelName(value: unknown): string {
  if (typeof value === 'number') {
    return PINO_LEVELS[value] ?? String(value);
  }
  return typeof value === 'string' ? value : 'info';
}

export function matches(entry: LogEntry, filter: LogFilter): boolean {
  if (filter.service && entry.service !== filter.service) {
    return false;
  }
  if (filter.level) {
    const rank = LEVELS.indexOf(entry.level as Level);
    if (rank < LEVELS.indexOf(filter.level)) {
      return false;
    }
  }
  if (filter.q) {
    for (const word of filter.q.toLowerCase().split(/\s+/).filter(Boolean)) {
      if (!entry.haystack.includes(word)) {
        return false;
      }
    }
  }
  return true;
}

interface TailedFile {
  offset: number;
  partial: string;
}

/** How much of an existing file to read at start (the rest is older than the buffer anyway). */
const INITIAL_READ_BYTES = 16 * 1024 * 1024;

export class LogStore extends EventEmitter<{ entry: [LogEntry] }> {
  readonly #dir: string;
  readonly #capacity: number;
  readonly #files = new Map<string, TailedFile>();
  #entries: LogEntry[] = [];
  #seq = 0;
  #timer?: NodeJS.Timeout;
  #polling = false;
  #closed = false;

  private constructor(dir: string, capacity: number) {
    super();
    this.setMaxListeners(0);
    this.#dir = dir;
    this.#capacity = capacity;
  }

  /** Reads what is there, then polls for new lines every `intervalMs`. */
  static async create(opts: { dir: string; capacity: number; intervalMs?: number }): Promise<LogStore> {
    const store = new LogStore(opts.dir, opts.capacity);
    await store.poll();
    store.#timer = setInterval(() => void store.poll(), opts.intervalMs ?? 250);
    return store;
  }

  get size(): number {
    return this.#entries.length;
  }

  services(): string[] {
    return [...new Set(this.#entries.map((e) => e.service))].sort();
  }

  /** Newest first (by the entries' own timestamps). */
  search(filter: LogFilter, limit: number): LogEntry[] {
    const out: LogEntry[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && out.length < limit; i--) {
      if (matches(this.#entries[i], filter)) {
        out.push(this.#entries[i]);
      }
    }
    return out;
  }

  /** Reads new bytes of every file once. Safe to call concurrently (one poll at a time). */
  async poll(): Promise<void> {
    if (this.#polling || this.#closed) {
      return;
    }
    this.#polling = true;
    try {
      let names: string[];
      try {
        names = (await readdir(this.#dir)).filter((name) => name.endsWith('.log')).sort();
      } catch {
        return; // the directory appears when the first service starts
      }
      for (const name of names) {
        await this.#readFile(name);
      }
    } finally {
      this.#polling = false;
    }
  }

  async #readFile(name: string): Promise<void> {
    const path = join(this.#dir, name);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      this.#files.delete(name);
      return;
    }
    let file = this.#files.get(name);
    if (!file) {
      file = { offset: Math.max(0, size - INITIAL_READ_BYTES), partial: '' };
      this.#files.set(name, file);
    }
    if (size < file.offset) {
      file.offset = 0; // truncated or replaced
      file.partial = '';
    }
    if (size === file.offset) {
      return;
    }
    const handle = await open(path, 'r');
    try {
      const length = size - file.offset;
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, file.offset);
      file.offset += bytesRead;
      const text = file.partial + buffer.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      file.partial = lines.pop() ?? '';
      for (const line of lines) {
        this.#add(line, name);
      }
    } finally {
      await handle.close();
    }
  }

  #add(line: string, fileName: string): void {
    const trimmed = line.trim();
    if (!trimmed) {
      return;
    }
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      data = { msg: trimmed };
    }
    const entry: LogEntry = {
      seq: ++this.#seq,
      time:
        typeof data.time === 'string'
          ? data.time
          : typeof data.time === 'number'
            ? new Date(data.time).toISOString()
            : new Date().toISOString(),
      service: typeof data.service === 'string' ? data.service : fileName.replace(/-[^-]*\.log$/, ''),
      level: levelName(data.level),
      msg: typeof data.msg === 'string' ? data.msg : '',
      data,
      haystack: trimmed.toLowerCase(),
    };
    // Keep the buffer in time order: files are read one after another, so a line of one service
    // may arrive after a newer line of another. Out-of-order lines are rare and land near the end.
    let index = this.#entries.length;
    while (index > 0 && this.#entries[index - 1].time > entry.time) {
      index--;
    }
    this.#entries.splice(index, 0, entry);
    if (this.#entries.length > this.#capacity * 1.1) {
      this.#entries = this.#entries.slice(-this.#capacity);
    }
    this.emit('entry', entry);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearInterval(this.#timer);
    this.removeAllListeners();
  }
}
