/**
 * Tails every `*.log` file (pino JSON lines) in a directory, keeps the newest entries in memory
 * for search, and tells subscribers about each new entry. New files are picked up as services
 * start. Rotation is followed as `tail -F` does: each file is read through an open handle, and when
 * its name points at a new file (the logger renamed the old one to `<name>.1`), the old file is
 * read to its end before the new one is read from its start, so no line is lost or read twice.
 * A file truncated in place is re-read from the start.
 */
import { EventEmitter } from 'node:events';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

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
  handle: FileHandle;
  /** Which file the handle reads (a rotated name points at a new inode). */
  ino: number;
  offset: number;
  partial: string;
  /** Keeps a character split between two reads whole. */
  decoder: StringDecoder;
}

/** How much of an existing file to read at start (the rest is older than the buffer anyway). */
const INITIAL_READ_BYTES = 16 * 1024 * 1024;
/** Bytes read at once (a multi-byte character cut at a chunk's end is rare and costs one char). */
const READ_CHUNK_BYTES = 1024 * 1024;

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
        const listed = (await readdir(this.#dir)).filter((name) => name.endsWith('.log'));
        // Also the files being followed: one renamed away is read to its end before it is let go.
        names = [...new Set([...listed, ...this.#files.keys()])].sort();
      } catch {
        return; // the directory appears when the first service starts
      }
      for (const name of names) {
        if (this.#closed) {
          return;
        }
        // One unreadable file (permissions, a race with its removal) does not stop the others.
        await this.#readFile(name).catch(() => {});
      }
    } finally {
      this.#polling = false;
    }
  }

  async #readFile(name: string): Promise<void> {
    const path = join(this.#dir, name);
    let current: { ino: number; size: number } | undefined;
    try {
      current = await stat(path);
    } catch {
      current = undefined; // removed (or renamed away and not yet recreated)
    }
    let file = this.#files.get(name);
    if (file && current?.ino !== file.ino) {
      // Rotated or removed: what was written to the old file before it moved comes first.
      await this.#readToEnd(file, name);
      await file.handle.close().catch(() => {});
      this.#files.delete(name);
      file = undefined;
      if (!current) {
        return;
      }
      file = await this.#open(path, 0);
    }
    if (!current) {
      return;
    }
    if (!file) {
      // Seen for the first time: skip what is older than the buffer could hold anyway.
      file = await this.#open(path, Math.max(0, current.size - INITIAL_READ_BYTES));
    }
    if (file) {
      this.#files.set(name, file);
      await this.#readToEnd(file, name);
    }
  }

  async #open(path: string, offset: number): Promise<TailedFile | undefined> {
    try {
      const handle = await open(path, 'r');
      const { ino } = await handle.stat();
      return { handle, ino, offset, partial: '', decoder: new StringDecoder('utf8') };
    } catch {
      return undefined;
    }
  }

  /** Reads what the file holds past the offset (through its handle, wherever it now lives). */
  async #readToEnd(file: TailedFile, name: string): Promise<void> {
    const { size } = await file.handle.stat();
    if (size < file.offset) {
      file.offset = 0; // truncated in place
      file.partial = '';
      file.decoder = new StringDecoder('utf8');
    }
    while (file.offset < size) {
      const length = Math.min(size - file.offset, READ_CHUNK_BYTES);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.handle.read(buffer, 0, length, file.offset);
      if (bytesRead === 0) {
        break;
      }
      file.offset += bytesRead;
      const text = file.partial + file.decoder.write(buffer.subarray(0, bytesRead));
      const lines = text.split('\n');
      file.partial = lines.pop() ?? '';
      for (const line of lines) {
        this.#add(line, name);
      }
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
    for (const file of this.#files.values()) {
      void file.handle.close().catch(() => {});
    }
    this.#files.clear();
  }
}
