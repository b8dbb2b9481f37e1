/** Who was in which room, with which identity and role, from when to when (`participant_sessions`). */
import type { Pool } from '@switchboard/db';
import { AppError } from '@switchboard/errors';
import type { Role } from '@switchboard/protocol';

/** Postgres: a row refers to one that is not there (the room, deleted meanwhile). */
const FOREIGN_KEY_VIOLATION = '23503';

export class ParticipantSessions {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async joined(p: {
    roomId: string;
    peerId: string;
    displayName: string;
    subject: string;
    role: Role;
  }): Promise<void> {
    try {
      await this.#pool.query(
        `INSERT INTO participant_sessions (room_id, peer_id, display_name, subject, role)
         VALUES ($1, $2, $3, $4, $5)`,
        [p.roomId, p.peerId, p.displayName, p.subject, p.role],
      );
    } catch (error) {
      // The meeting was deleted while this person was joining it (a match that ended at once).
      if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) {
        throw new AppError('NOT_FOUND', 'this meeting has ended');
      }
      throw error;
    }
  }

  /** Records the end of a peer's session (once: a later call changes nothing). */
  async left(peerId: string): Promise<void> {
    await this.#pool.query(
      'UPDATE participant_sessions SET left_at = now() WHERE peer_id = $1 AND left_at IS NULL',
      [peerId],
    );
  }
}
