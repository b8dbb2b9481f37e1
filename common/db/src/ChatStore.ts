/**
 * A room's chat as Postgres keeps it, shared by signaling (send, edit, delete, history, sync) and
 * the gateway (history and search over REST). Every change takes the room's next revision
 * (`rooms.chat_rev`) in the same statement that writes it: the row lock on the room orders a
 * room's changes, a failed statement takes no revision (no gap that would never fill), and a
 * message is acknowledged only once its statement committed. Private messages are visible to
 * their sender and recipient only, in every query here.
 */
import type { Pool } from 'pg';
import { AppError, NotFoundError, PermissionDeniedError, UnavailableError } from '@switchboard/errors';
import type { ChatMessage, ChatPage, ChatParty, ChatSearchHit } from '@switchboard/protocol';

/** Who reads: their identity decides which private messages they see. */
export interface ChatReader {
  roomId: string;
  sub: string;
}

interface MessageRow {
  room_id: string;
  seq: string;
  rev: string;
  client_id: string;
  sender_sub: string;
  sender_peer_id: string;
  sender_name: string;
  recipient_sub: string | null;
  recipient_peer_id: string | null;
  recipient_name: string | null;
  body: string;
  sent_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
}

const COLUMNS = `room_id, seq, rev, client_id, sender_sub, sender_peer_id, sender_name, recipient_sub,
  recipient_peer_id, recipient_name, body, sent_at, edited_at, deleted_at`;
/** The same columns of a table aliased `m` (for statements that join or update it). */
const M_COLUMNS = COLUMNS.split(',')
  .map((c) => `m.${c.trim()}`)
  .join(', ');
/** Rows `$2` (a subject) may see: public ones and private ones it sent or received. */
const VISIBLE = '(recipient_sub IS NULL OR sender_sub = $2 OR recipient_sub = $2)';
/** Snippet delimiters: control characters a message body can never contain (chatBodySchema). */
const START = '\u0002';
const STOP = '\u0003';

function toMessage(row: MessageRow): ChatMessage {
  return {
    roomId: row.room_id,
    seq: Number(row.seq),
    rev: Number(row.rev),
    clientId: row.client_id,
    from: { sub: row.sender_sub, peerId: row.sender_peer_id, displayName: row.sender_name },
    to:
      row.recipient_sub === null
        ? null
        : {
            sub: row.recipient_sub,
            peerId: row.recipient_peer_id ?? '',
            displayName: row.recipient_name ?? '',
          },
    body: row.body,
    sentAt: row.sent_at.toISOString(),
    editedAt: row.edited_at?.toISOString() ?? null,
    deleted: row.deleted_at !== null,
  };
}

/** Postgres unreachable, restarting or overloaded: worth retrying, unlike a refused message. */
function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (/^(08|57P|53)/.test(code) || /^E(CONN|HOST|PIPE|TIMEDOUT)/.test(code))) {
    return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED/i.test(message);
}

/** A message to store. */
interface ChatSend {
  roomId: string;
  clientId: string;
  from: ChatParty;
  to: ChatParty | null;
  body: string;
}

interface QueuedSend {
  msg: ChatSend;
  resolve: (result: { message: ChatMessage; duplicate: boolean }) => void;
  reject: (error: unknown) => void;
}

/**
 * Most messages one statement stores: it bounds the burst of acknowledgements and fan-out that
 * runs when a statement commits (they resolve together), while still folding a busy moment's
 * sends into few statements.
 */
const MAX_BATCH = 64;

/**
 * One message: the revision is taken only when no message has this clientId yet. Two retries
 * racing past the check both wait on the room's row; the second then violates the unique key,
 * its statement (revision included) rolls back, and a second attempt finds the first one's row.
 */
const SEND_ONE_SQL = `
  WITH existing AS (
    SELECT ${COLUMNS} FROM chat_messages WHERE room_id = $1 AND client_id = $2
  ), bump AS (
    UPDATE rooms SET chat_rev = chat_rev + 1
    WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM existing)
    RETURNING chat_rev
  ), inserted AS (
    INSERT INTO chat_messages (room_id, seq, rev, client_id, sender_sub, sender_peer_id, sender_name,
      recipient_sub, recipient_peer_id, recipient_name, body)
    SELECT $1, chat_rev, chat_rev, $2, $3, $4, $5, $6, $7, $8, $9 FROM bump
    RETURNING ${COLUMNS}
  )
  SELECT *, false AS duplicate FROM inserted
  UNION ALL SELECT *, true AS duplicate FROM existing`;

/**
 * Many messages, any rooms: those whose clientId exists come back as duplicates; the rest are
 * numbered from each room's revision (rooms locked in id order, so two batches never wait on
 * each other in a circle) in the order they were sent, and the rooms' revisions move past them.
 */
const SEND_BATCH_SQL = `
  WITH input AS (
    SELECT DISTINCT ON (room_id, client_id) *
    FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
      $8::text[], $9::text[], $10::int[])
      AS t(room_id, client_id, sender_sub, sender_peer_id, sender_name, recipient_sub,
        recipient_peer_id, recipient_name, body, ord)
    ORDER BY room_id, client_id, ord
  ), existing AS (
    SELECT ${M_COLUMNS}
    FROM chat_messages m JOIN input i ON m.room_id = i.room_id AND m.client_id = i.client_id
  ), fresh AS (
    SELECT i.* FROM input i
    WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.room_id = i.room_id AND e.client_id = i.client_id)
  ), locked AS (
    SELECT id, chat_rev FROM rooms WHERE id IN (SELECT room_id FROM fresh) ORDER BY id FOR UPDATE
  ), numbered AS (
    SELECT f.*, l.chat_rev + row_number() OVER (PARTITION BY f.room_id ORDER BY f.ord) AS rev
    FROM fresh f JOIN locked l ON l.id = f.room_id
  ), bump AS (
    UPDATE rooms r SET chat_rev = n.top
    FROM (SELECT room_id, max(rev) AS top FROM numbered GROUP BY room_id) n
    WHERE r.id = n.room_id
  ), inserted AS (
    INSERT INTO chat_messages (room_id, seq, rev, client_id, sender_sub, sender_peer_id, sender_name,
      recipient_sub, recipient_peer_id, recipient_name, body)
    SELECT room_id, rev, rev, client_id, sender_sub, sender_peer_id, sender_name, recipient_sub,
      recipient_peer_id, recipient_name, body
    FROM numbered
    RETURNING ${COLUMNS}
  )
  SELECT *, false AS duplicate FROM inserted
  UNION ALL SELECT *, true AS duplicate FROM existing`;

function batchParams(msgs: ChatSend[]): unknown[] {
  return [
    msgs.map((m) => m.roomId),
    msgs.map((m) => m.clientId),
    msgs.map((m) => m.from.sub),
    msgs.map((m) => m.from.peerId),
    msgs.map((m) => m.from.displayName),
    msgs.map((m) => m.to?.sub ?? null),
    msgs.map((m) => m.to?.peerId ?? null),
    msgs.map((m) => m.to?.displayName ?? null),
    msgs.map((m) => m.body),
    msgs.map((_, i) => i),
  ];
}

/** The answer to one send from its row: NOT_FOUND without one, ALREADY_EXISTS if not its own. */
function checkSent(
  msg: ChatSend,
  row: MessageRow | undefined,
  duplicate: boolean,
): { message: ChatMessage; duplicate: boolean } {
  if (!row) {
    throw new NotFoundError(`meeting ${msg.roomId} does not exist`);
  }
  if (duplicate && row.sender_sub !== msg.from.sub) {
    throw new AppError('ALREADY_EXISTS', 'another message already has this clientId; make a new one');
  }
  return { message: toMessage(row), duplicate };
}

async function settle(
  queued: QueuedSend,
  work: () => Promise<{ message: ChatMessage; duplicate: boolean }>,
): Promise<void> {
  try {
    queued.resolve(await work());
  } catch (error) {
    queued.reject(error);
  }
}

export class ChatStore {
  readonly #pool: Pool;
  readonly #queue: QueuedSend[] = [];
  #draining = false;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Runs a statement; `name` makes it a prepared statement (parsed and planned once per connection). */
  async #query<R extends object>(sql: string, params: unknown[], name?: string): Promise<R[]> {
    try {
      return (await this.#pool.query<R>({ text: sql, values: params, name })).rows;
    } catch (error) {
      if (isUnavailable(error)) {
        throw new UnavailableError('chat storage is unavailable right now; try again shortly', {
          cause: error,
        });
      }
      throw error;
    }
  }

  /**
   * Stores a message once per (room, clientId) and returns it with its sequence number;
   * `duplicate` when that clientId was stored before (a retry), which changes nothing.
   *
   * Sends are grouped like a database's group commit: when none is in flight a send goes at once;
   * the ones arriving meanwhile go together in the next statement (one round trip and one commit
   * for all of them, rooms locked in id order). Each is acknowledged only when its statement
   * committed. A batch that fails as a whole (a race with another instance on the same client id,
   * a deadlock) is retried one message at a time.
   */
  send(msg: ChatSend): Promise<{ message: ChatMessage; duplicate: boolean }> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ msg, resolve, reject });
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#draining) {
      return;
    }
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        await this.#sendBatch(this.#queue.splice(0, MAX_BATCH));
      }
    } finally {
      this.#draining = false;
    }
  }

  async #sendBatch(batch: QueuedSend[]): Promise<void> {
    if (batch.length === 1) {
      await settle(batch[0], () => this.#sendOne(batch[0].msg));
      return;
    }
    let rows: (MessageRow & { duplicate: boolean })[];
    try {
      rows = await this.#query(SEND_BATCH_SQL, batchParams(batch.map((q) => q.msg)), 'chat-send-batch');
    } catch (error) {
      if (error instanceof UnavailableError) {
        batch.forEach((q) => q.reject(error));
        return;
      }
      for (const queued of batch) {
        await settle(queued, () => this.#sendOne(queued.msg));
      }
      return;
    }
    const byKey = new Map(rows.map((row) => [`${row.room_id} ${row.client_id}`, row]));
    const answered = new Set<string>();
    for (const queued of batch) {
      // Postgres answers a uuid in lower case: the key must match however the client wrote it.
      const key = `${queued.msg.roomId} ${queued.msg.clientId.toLowerCase()}`;
      const row = byKey.get(key);
      // The same message twice in one batch (a retry racing its original): stored once.
      const duplicate = (row?.duplicate ?? false) || answered.has(key);
      answered.add(key);
      void settle(queued, async () => checkSent(queued.msg, row, duplicate));
    }
  }

  /** One message in its own statement (see SEND_ONE_SQL). */
  async #sendOne(msg: ChatSend): Promise<{ message: ChatMessage; duplicate: boolean }> {
    const params = [
      msg.roomId,
      msg.clientId,
      msg.from.sub,
      msg.from.peerId,
      msg.from.displayName,
      msg.to?.sub ?? null,
      msg.to?.peerId ?? null,
      msg.to?.displayName ?? null,
      msg.body,
    ];
    for (let attempt = 1; ; attempt++) {
      let rows: (MessageRow & { duplicate: boolean })[];
      try {
        rows = await this.#query(SEND_ONE_SQL, params, 'chat-send');
      } catch (error) {
        if ((error as { code?: string }).code === '23505' && attempt === 1) {
          continue;
        }
        throw error;
      }
      return checkSent(msg, rows[0], rows[0]?.duplicate ?? false);
    }
  }

  /**
   * Changes one of the author's own messages (`body` null deletes it: its text is erased) and
   * gives it the room's next revision.
   */
  async change(reader: ChatReader, seq: number, body: string | null): Promise<ChatMessage> {
    const rows = await this.#query<MessageRow>(
      `WITH target AS (
         SELECT seq FROM chat_messages
         WHERE room_id = $1 AND seq = $3 AND sender_sub = $2 AND deleted_at IS NULL
         FOR UPDATE
       ), bump AS (
         UPDATE rooms SET chat_rev = chat_rev + 1
         WHERE id = $1 AND EXISTS (SELECT 1 FROM target)
         RETURNING chat_rev
       )
       UPDATE chat_messages m
       SET rev = bump.chat_rev,
           body = coalesce($4, ''),
           edited_at = CASE WHEN $4::text IS NULL THEN m.edited_at ELSE now() END,
           deleted_at = CASE WHEN $4::text IS NULL THEN now() ELSE NULL END
       FROM bump
       WHERE m.room_id = $1 AND m.seq = $3
       RETURNING ${M_COLUMNS}`,
      [reader.roomId, reader.sub, seq, body],
    );
    if (rows[0]) {
      return toMessage(rows[0]);
    }
    const [found] = await this.#query<{ sender_sub: string; deleted: boolean }>(
      `SELECT sender_sub, deleted_at IS NOT NULL AS deleted FROM chat_messages
       WHERE room_id = $1 AND seq = $3 AND ${VISIBLE}`,
      [reader.roomId, reader.sub, seq],
    );
    if (!found) {
      throw new NotFoundError(`message ${seq} does not exist in this meeting`);
    }
    if (found.sender_sub !== reader.sub) {
      throw new PermissionDeniedError('you can only change your own messages');
    }
    throw new AppError('FAILED_PRECONDITION', `message ${seq} was deleted`);
  }

  /**
   * Messages by sequence, newest `limit` before `before` (or the newest), returned oldest first,
   * with the room's revision read in the same snapshot.
   */
  async history(reader: ChatReader, opts: { before?: number; limit: number }): Promise<ChatPage> {
    const rows = await this.#query<MessageRow & { room_rev: string }>(
      `SELECT ${COLUMNS}, (SELECT chat_rev FROM rooms WHERE id = $1) AS room_rev
       FROM chat_messages
       WHERE room_id = $1 AND ${VISIBLE} AND seq < $3
       ORDER BY seq DESC
       LIMIT $4`,
      [reader.roomId, reader.sub, opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit + 1],
    );
    const more = rows.length > opts.limit;
    const page = rows.slice(0, opts.limit).reverse();
    return { messages: page.map(toMessage), rev: await this.#revOf(reader.roomId, rows), more };
  }

  /** Every change after revision `after` the reader may see, by revision. */
  async sync(reader: ChatReader, opts: { after: number; limit: number }): Promise<ChatPage> {
    const rows = await this.#query<MessageRow & { room_rev: string }>(
      `SELECT ${COLUMNS}, (SELECT chat_rev FROM rooms WHERE id = $1) AS room_rev
       FROM chat_messages
       WHERE room_id = $1 AND ${VISIBLE} AND rev > $3
       ORDER BY rev
       LIMIT $4`,
      [reader.roomId, reader.sub, opts.after, opts.limit + 1],
    );
    const more = rows.length > opts.limit;
    const page = rows.slice(0, opts.limit);
    // With more to come, the reader is up to date only as far as this page goes.
    const rev = more ? Number(page.at(-1)?.rev ?? opts.after) : await this.#revOf(reader.roomId, rows);
    return { messages: page.map(toMessage), rev, more };
  }

  /** The room's revision from a page's rows (same snapshot), or read when the page is empty. */
  async #revOf(roomId: string, rows: { room_rev: string }[]): Promise<number> {
    if (rows[0]) {
      return Number(rows[0].room_rev);
    }
    const [room] = await this.#query<{ chat_rev: string }>('SELECT chat_rev FROM rooms WHERE id = $1', [
      roomId,
    ]);
    return Number(room?.chat_rev ?? 0);
  }

  /**
   * Full-text search (English stemming, web-search syntax: quotes, OR, -word) over the messages
   * the reader may see, best match first, with highlighted snippets.
   */
  async search(reader: ChatReader, query: string, limit: number): Promise<ChatSearchHit[]> {
    const rows = await this.#query<MessageRow & { snippet: string; rank: number }>(
      `SELECT ${COLUMNS},
         ts_headline('english', body, q, $5) AS snippet,
         ts_rank_cd(search, q) AS rank
       FROM chat_messages, websearch_to_tsquery('english', $3) AS q
       WHERE room_id = $1 AND ${VISIBLE} AND deleted_at IS NULL AND search @@ q
       ORDER BY rank DESC, seq DESC
       LIMIT $4`,
      [
        reader.roomId,
        reader.sub,
        query,
        limit,
        `StartSel=${START}, StopSel=${STOP}, MaxWords=30, MinWords=12`,
      ],
    );
    return rows.map((row) => ({
      message: toMessage(row),
      snippet: splitSnippet(row.snippet),
      rank: row.rank,
    }));
  }
}

/** `a \u0002b\u0003 c` → [{a, false}, {b, true}, {c, false}]. */
function splitSnippet(snippet: string): { text: string; match: boolean }[] {
  const parts: { text: string; match: boolean }[] = [];
  for (const [i, chunk] of snippet.split(START).entries()) {
    const [matched, rest] = i === 0 ? [undefined, chunk] : chunk.split(STOP);
    if (matched) {
      parts.push({ text: matched, match: true });
    }
    if (rest) {
      parts.push({ text: rest, match: false });
    }
  }
  return parts;
}
