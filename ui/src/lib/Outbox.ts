/**
 * The chat outbox: messages written but not yet acknowledged by the server, kept in IndexedDB so
 * they survive a lost connection and a reload of the page. An entry leaves the outbox only when
 * the server says the message is stored (or that it can never be: then it stays, marked failed,
 * until the writer retries or discards it).
 */
export interface OutboxEntry {
  /** The message's id (UUIDv7, so entries sort in the order they were written). */
  clientId: string;
  roomId: string;
  body: string;
  /** A private message's recipient (peer id when written) and name. */
  to?: { peerId: string; displayName: string };
  createdAt: number;
  /** Why the server refused it for good (the entry then waits for the writer). */
  failed?: string;
}

const DB_NAME = 'switchboard-chat';
const STORE = 'outbox';

function promised<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

export class Outbox {
  readonly #roomId: string;
  readonly #db: Promise<IDBDatabase | undefined>;
  /** Used when IndexedDB is unavailable (private windows of some browsers): this page only. */
  readonly #memory = new Map<string, OutboxEntry>();

  constructor(roomId: string) {
    this.#roomId = roomId;
    this.#db = new Promise((resolve) => {
      if (typeof indexedDB === 'undefined') {
        resolve(undefined);
        return;
      }
      const open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = () => {
        const store = open.result.createObjectStore(STORE, { keyPath: 'clientId' });
        store.createIndex('roomId', 'roomId');
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => resolve(undefined);
    });
  }

  async #store(mode: IDBTransactionMode): Promise<IDBObjectStore | undefined> {
    const db = await this.#db;
    return db?.transaction(STORE, mode).objectStore(STORE);
  }

  /** This room's entries, oldest first. */
  async list(): Promise<OutboxEntry[]> {
    const store = await this.#store('readonly');
    const entries = store
      ? await promised(store.index('roomId').getAll(this.#roomId) as IDBRequest<OutboxEntry[]>)
      : [...this.#memory.values()];
    return entries.sort((a, b) => (a.clientId < b.clientId ? -1 : 1));
  }

  async put(entry: OutboxEntry): Promise<void> {
    const store = await this.#store('readwrite');
    if (store) {
      await promised(store.put(entry));
    } else {
      this.#memory.set(entry.clientId, entry);
    }
  }

  async remove(clientId: string): Promise<void> {
    const store = await this.#store('readwrite');
    if (store) {
      await promised(store.delete(clientId));
    } else {
      this.#memory.delete(clientId);
    }
  }
}
