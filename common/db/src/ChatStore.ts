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

export class ChatStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async #query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(sql, params)).rows;
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
   */
  async send(msg: {
    roomId: string;
    clientId: string;
    from: ChatParty;
    to: ChatParty | null;
    body: string;
  }): Promise<{ message: ChatMessage; duplicate: boolean }> {
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
    // One statement, so one round trip and all-or-nothing: the revision is taken only when no
    // message has this clientId yet. Two retries racing past the check both wait on the room's
    // row; the second then violates the unique key, its statement (revision included) rolls back,
    // and the retry below finds the first one's row.
    const sql = `
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
    for (let attempt = 1; ; attempt++) {
      let rows: (MessageRow & { duplicate: boolean })[];
      try {
        rows = await this.#query(sql, params);
      } catch (error) {
        if ((error as { code?: string }).code === '23505' && attempt === 1) {
          continue;
        }
        throw error;
      }
      const row = rows[0];
      if (!row) {
        throw new NotFoundError(`meeting ${msg.roomId} does not exist`);
      }
      if (row.duplicate && row.sender_sub !== msg.from.sub) {
        throw new AppError('ALREADY_EXISTS', 'another message already has this clientId; make a new one');
      }
      return { message: toMessage(row), duplicate: row.duplicate };
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
       RETURNING ${COLUMNS.split(',')
         .map((c) => `m.${c.trim()}`)
         .join(', ')}`,
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
