/**
 * The browser side of chat. Keeps the room's messages by sequence number and the last revision
 * it has seen without a gap; a revision further ahead (a message lost in fan-out, a crash, a
 * reconnect) makes it ask `chatSync` for what it missed. Messages written go to the outbox
 * (IndexedDB) first and leave it only when the server acknowledges them, so they are retried
 * after a reconnect or a reload of the page and, thanks to their client id, stored once.
 */
import type {
  ChatMessage,
  ChatPage,
  ChatSearchHit,
  RequestName,
  RequestPayload,
  ResponseMap,
} from '@switchboard/protocol';
import { Outbox, type OutboxEntry } from './Outbox';
import { uuidv7 } from './uuidv7';

/** How the call client lets chat talk to signaling while a connection is up. */
export interface ChatLink {
  request<E extends RequestName>(event: E, payload: RequestPayload<E>): Promise<ResponseMap[E]>;
  on<E extends 'chatMessage' | 'chatRev' | 'chatTyping'>(
    event: E,
    listener: E extends 'chatMessage'
      ? (message: ChatMessage) => void
      : E extends 'chatRev'
        ? (event: { rev: number }) => void
        : (event: { peerId: string; displayName: string; private: boolean }) => void,
  ): void;
  /** This participant's identity (the join token's subject): whose messages are "mine". */
  sub: string;
}

export interface PendingMessage extends OutboxEntry {
  state: 'sending' | 'waiting' | 'failed';
}

export interface ChatSnapshot {
  messages: ChatMessage[];
  pending: PendingMessage[];
  typing: { peerId: string; displayName: string; private: boolean }[];
  unread: number;
  hasOlder: boolean;
  connected: boolean;
  mySub?: string;
}

/** Errors worth retrying: the server or a store it needs is away, or we were too fast. */
const RETRYABLE = new Set([
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
]);
/** A message arriving ahead of a missing revision waits this long for it before we ask. */
const GAP_WAIT_MS = 400;
const TYPING_SHOWN_MS = 3500;
const TYPING_SEND_EVERY_MS = 2000;

function codeOf(error: unknown): string {
  return (error as { code?: string }).code ?? 'INTERNAL';
}

export class ChatClient {
  readonly #roomId: string;
  readonly #outbox: Outbox;
  readonly #onChange: () => void;
  readonly #messages = new Map<number, ChatMessage>();
  readonly #pending = new Map<string, PendingMessage>();
  readonly #typing = new Map<string, { displayName: string; private: boolean; until: number }>();
  /** Every revision up to this one has been seen (or fetched). */
  #rev = 0;
  /** Revisions seen above #rev, waiting for the ones between. */
  readonly #ahead = new Set<number>();
  #gapTimer?: ReturnType<typeof setTimeout>;
  #retryTimer?: ReturnType<typeof setTimeout>;
  #link?: ChatLink;
  #loaded = false;
  #hasOlder = false;
  #flushing = false;
  #unread = 0;
  #open = false;
  #lastTypingSent = 0;
  #closed = false;

  constructor(roomId: string, onChange: () => void) {
    this.#roomId = roomId;
    this.#outbox = new Outbox(roomId);
    this.#onChange = onChange;
    // What a previous page of this room left unsent is shown at once and sent when connected.
    void this.#outbox.list().then((entries) => {
      if (this.#closed) {
        return;
      }
      for (const entry of entries) {
        this.#pending.set(entry.clientId, { ...entry, state: entry.failed ? 'failed' : 'waiting' });
      }
      this.#onChange();
    });
  }

  snapshot(): ChatSnapshot {
    const now = Date.now();
    return {
      messages: [...this.#messages.values()].sort((a, b) => a.seq - b.seq),
      pending: [...this.#pending.values()].sort((a, b) => (a.clientId < b.clientId ? -1 : 1)),
      typing: [...this.#typing]
        .filter(([, t]) => t.until > now)
        .map(([peerId, t]) => ({ peerId, displayName: t.displayName, private: t.private })),
      unread: this.#unread,
      hasOlder: this.#hasOlder,
      connected: this.#link !== undefined,
      mySub: this.#link?.sub,
    };
  }

  /** A connection joined the room: catch up (history or sync), then send the outbox. */
  attach(link: ChatLink): void {
    this.#link = link;
    link.on('chatMessage', (message) => this.#receive(message));
    link.on('chatRev', ({ rev }) => this.#seeRev(rev));
    link.on('chatTyping', (notice) => {
      this.#typing.set(notice.peerId, {
        displayName: notice.displayName,
        private: notice.private,
        until: Date.now() + TYPING_SHOWN_MS,
      });
      this.#onChange();
      setTimeout(() => this.#onChange(), TYPING_SHOWN_MS + 50);
    });
    void this.#catchUp(link).then(() => this.#flush());
    this.#onChange();
  }

  /** The connection is gone; the outbox waits for the next one. */
  detach(): void {
    this.#link = undefined;
    this.#typing.clear();
    for (const pending of this.#pending.values()) {
      if (pending.state === 'sending') {
        pending.state = 'waiting';
      }
    }
    this.#onChange();
  }

  /** The panel is shown (unread resets) or hidden. */
  setOpen(open: boolean): void {
    this.#open = open;
    if (open && this.#unread > 0) {
      this.#unread = 0;
      this.#onChange();
    }
  }

  /** Writes a message: into the outbox first, then to the server when connected. */
  async send(body: string, to?: { peerId: string; displayName: string }): Promise<void> {
    const entry: OutboxEntry = { clientId: uuidv7(), roomId: this.#roomId, body, to, createdAt: Date.now() };
    await this.#outbox.put(entry);
    this.#pending.set(entry.clientId, { ...entry, state: 'waiting' });
    this.#onChange();
    await this.#flush();
  }

  /** Tries a failed message again. */
  async retry(clientId: string): Promise<void> {
    const pending = this.#pending.get(clientId);
    if (!pending) {
      return;
    }
    delete pending.failed;
    pending.state = 'waiting';
    await this.#outbox.put(stripState(pending));
    await this.#flush();
  }

  async discard(clientId: string): Promise<void> {
    this.#pending.delete(clientId);
    await this.#outbox.remove(clientId);
    this.#onChange();
  }

  async edit(seq: number, body: string): Promise<void> {
    this.#receive((await this.#required().request('chatEdit', { seq, body })).message);
  }

  async delete(seq: number): Promise<void> {
    this.#receive((await this.#required().request('chatDelete', { seq })).message);
  }

  async search(q: string): Promise<ChatSearchHit[]> {
    return (await this.#required().request('chatSearch', { q })).results;
  }

  /** Loads the page of messages before the oldest one shown. */
  async loadOlder(): Promise<void> {
    const oldest = Math.min(...this.#messages.keys());
    if (!Number.isFinite(oldest)) {
      return;
    }
    const page = await this.#required().request('chatHistory', { before: oldest, limit: 50 });
    for (const message of page.messages) {
      this.#messages.set(message.seq, message);
    }
    this.#hasOlder = page.more;
    this.#onChange();
  }

  /** "I am typing", at most every 2 s (the server drops more). */
  typing(to?: string): void {
    const now = Date.now();
    if (!this.#link || now - this.#lastTypingSent < TYPING_SEND_EVERY_MS) {
      return;
    }
    this.#lastTypingSent = now;
    this.#link.request('chatTyping', to ? { to } : {}).catch(() => {});
  }

  close(): void {
    this.#closed = true;
    this.#link = undefined;
    clearTimeout(this.#gapTimer);
    clearTimeout(this.#retryTimer);
  }

  #required(): ChatLink {
    if (!this.#link) {
      throw Object.assign(new Error('not connected: try again in a moment'), { code: 'UNAVAILABLE' });
    }
    return this.#link;
  }

  /** First connection: the newest page; later ones: everything after the last revision seen. */
  async #catchUp(link: ChatLink): Promise<void> {
    try {
      if (!this.#loaded) {
        const page = await link.request('chatHistory', {});
        this.#apply(page);
        this.#hasOlder = page.more;
        this.#loaded = true;
        this.#advance();
      } else {
        await this.#sync(link);
      }
    } catch {
      // The next message or reconnect tries again.
    }
    this.#onChange();
  }

  async #sync(link: ChatLink): Promise<void> {
    let page: ChatPage;
    do {
      page = await link.request('chatSync', { after: this.#rev });
      this.#apply(page);
    } while (page.more);
    this.#advance();
  }

  #apply(page: ChatPage): void {
    for (const message of page.messages) {
      this.#store(message);
    }
    this.#rev = Math.max(this.#rev, page.rev);
  }

  #store(message: ChatMessage): void {
    const known = this.#messages.get(message.seq);
    if (!known || known.rev < message.rev) {
      this.#messages.set(message.seq, message);
    }
    // Our own message, seen stored (its ack lost, or history after a reload): it is delivered.
    if (this.#pending.delete(message.clientId)) {
      void this.#outbox.remove(message.clientId);
    }
  }

  #receive(message: ChatMessage): void {
    const isNew = !this.#messages.has(message.seq);
    this.#store(message);
    if (isNew && message.from.sub !== this.#link?.sub && (!this.#open || document.hidden)) {
      this.#unread++;
    }
    this.#typing.delete(message.from.peerId);
    this.#seeRev(message.rev);
    this.#onChange();
  }

  /** Notes a revision; a gap that does not close by itself soon is fetched. */
  #seeRev(rev: number): void {
    if (rev > this.#rev) {
      this.#ahead.add(rev);
      this.#advance();
    }
  }

  /** Moves past contiguous revisions; waits, then syncs, when one is missing. */
  #advance(): void {
    for (const rev of [...this.#ahead]) {
      if (rev <= this.#rev) {
        this.#ahead.delete(rev);
      }
    }
    while (this.#ahead.delete(this.#rev + 1)) {
      this.#rev++;
    }
    // Before the first history page arrives, that page is the catch-up.
    if (!this.#loaded || this.#ahead.size === 0 || this.#gapTimer) {
      return;
    }
    this.#gapTimer = setTimeout(() => {
      this.#gapTimer = undefined;
      if (this.#ahead.size > 0 && this.#link) {
        void this.#sync(this.#link)
          .catch(() => {})
          .then(() => this.#onChange());
      }
    }, GAP_WAIT_MS);
  }

  /** Sends the outbox in order, one at a time; stops at the first retryable failure. */
  async #flush(): Promise<void> {
    if (this.#flushing || this.#closed) {
      return;
    }
    this.#flushing = true;
    try {
      for (const pending of [...this.#pending.values()].sort((a, b) => (a.clientId < b.clientId ? -1 : 1))) {
        const link = this.#link;
        if (!link) {
          break;
        }
        if (pending.state === 'failed') {
          continue;
        }
        pending.state = 'sending';
        this.#onChange();
        try {
          const payload = pending.to
            ? { clientId: pending.clientId, body: pending.body, to: pending.to.peerId }
            : { clientId: pending.clientId, body: pending.body };
          const { message } = await link.request('chatSend', payload);
          await this.#outbox.remove(pending.clientId);
          this.#receive(message);
        } catch (error) {
          const code = codeOf(error);
          if (code === 'ALREADY_EXISTS') {
            // Stored by an earlier attempt of this page (before a reload gave us a new identity).
            this.#pending.delete(pending.clientId);
            await this.#outbox.remove(pending.clientId);
          } else if (RETRYABLE.has(code)) {
            pending.state = 'waiting';
            const after = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
            this.#scheduleRetry(after ? after * 1000 : 2000);
            break;
          } else {
            pending.state = 'failed';
            pending.failed = (error as Error).message.replace(/^chatSend: /, '');
            await this.#outbox.put(stripState(pending));
          }
        }
        this.#onChange();
      }
    } finally {
      this.#flushing = false;
    }
  }

  #scheduleRetry(ms: number): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#flush(), ms);
  }
}

function stripState(pending: PendingMessage): OutboxEntry {
  const { state: _state, ...entry } = pending;
  return entry;
}
