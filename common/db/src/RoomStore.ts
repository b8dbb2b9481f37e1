/**
 * Rooms as Postgres keeps them (id, label, owner, policy) and their members (accounts that are a
 * room's hosts or admitted participants). Shared by the gateway (REST) and signaling (joins, host
 * controls), so both read and change a room the same way.
 */
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { Role, RoomPolicy } from '@switchboard/protocol';

export interface RoomRecord {
  id: string;
  name: string;
  policy: RoomPolicy;
  ownerId: string | null;
  createdAt: Date;
}

interface RoomRow {
  id: string;
  name: string;
  policy: RoomPolicy;
  owner_id: string | null;
  created_at: Date;
}

const COLUMNS = 'id, name, policy, owner_id, created_at';

function toRecord(row: RoomRow): RoomRecord {
  return { id: row.id, name: row.name, policy: row.policy, ownerId: row.owner_id, createdAt: row.created_at };
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 24 base32 characters from 15 random bytes: 120 bits, a valid room id. */
export function newRoomId(): string {
  const bytes = randomBytes(15);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export class RoomStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /**
   * A new room owned (and hosted) by `ownerId`; with `null` (made through the server API), its
   * hosts are whoever joins with a host token.
   */
  async create(opts: { name: string; policy: RoomPolicy; ownerId: string | null }): Promise<RoomRecord> {
    // One statement (atomic, one round trip): the room, and its owner as host when it has one.
    // Matchmaking opens a room per match, many a second.
    const { rows } = await this.#pool.query<RoomRow>(
      `WITH room AS (
         INSERT INTO rooms (id, name, policy, owner_id) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}
       ), host AS (
         INSERT INTO room_members (room_id, user_id, role) SELECT id, owner_id, 'host' FROM room WHERE owner_id IS NOT NULL
       )
       SELECT * FROM room`,
      [newRoomId(), opts.name, opts.policy, opts.ownerId],
    );
    return toRecord(rows[0]);
  }

  /**
   * Rooms, newest first, `limit` at a time: the page after `after` (the last room of the
   * previous page), or the first; only those of `ids` when given.
   */
  async list(
    limit: number,
    opts: { after?: { createdAt: Date; id: string }; ids?: readonly string[] } = {},
  ): Promise<RoomRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.after) {
      params.push(opts.after.createdAt, opts.after.id);
      where.push(`(created_at, id) < ($${params.length - 1}, $${params.length})`);
    }
    if (opts.ids) {
      params.push(opts.ids);
      where.push(`id = ANY($${params.length})`);
    }
    params.push(limit);
    const { rows } = await this.#pool.query<RoomRow>(
      `SELECT ${COLUMNS} FROM rooms ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }

  /** Deletes a room with its members and chat history (false: no such room). */
  async delete(id: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('DELETE FROM rooms WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  async get(id: string): Promise<RoomRecord | undefined> {
    const { rows } = await this.#pool.query<RoomRow>(`SELECT ${COLUMNS} FROM rooms WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Rooms the user owns or is a member of, newest first, with the user's role in each. */
  async listFor(userId: string, limit = 100): Promise<(RoomRecord & { role: Role })[]> {
    const { rows } = await this.#pool.query<RoomRow & { role: Role }>(
      `SELECT r.id, r.name, r.policy, r.owner_id, r.created_at, m.role
         FROM room_members m JOIN rooms r ON r.id = m.room_id
        WHERE m.user_id = $1
        ORDER BY r.created_at DESC
        LIMIT $2`,
      [userId, limit],
    );
    return rows.map((row) => ({ ...toRecord(row), role: row.role }));
  }

  /** The user's standing in the room: `host`, `participant` (an admitted member) or none. */
  async memberRole(roomId: string, userId: string): Promise<Role | undefined> {
    const { rows } = await this.#pool.query<{ role: Role }>(
      'SELECT role FROM room_members WHERE room_id = $1 AND user_id = $2',
      [roomId, userId],
    );
    return rows[0]?.role;
  }

  /** Makes the user a member (never demotes a host). */
  async addMember(roomId: string, userId: string, role: 'host' | 'participant'): Promise<void> {
    await this.#pool.query(
      `INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (room_id, user_id) DO UPDATE
         SET role = CASE WHEN room_members.role = 'host' THEN 'host' ELSE EXCLUDED.role END`,
      [roomId, userId, role],
    );
  }

  async update(id: string, changes: { name?: string; policy?: RoomPolicy }): Promise<RoomRecord | undefined> {
    const { rows } = await this.#pool.query<RoomRow>(
      `UPDATE rooms SET name = COALESCE($2, name), policy = COALESCE($3, policy)
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, changes.name ?? null, changes.policy ?? null],
    );
    return rows[0] && toRecord(rows[0]);
  }
}
