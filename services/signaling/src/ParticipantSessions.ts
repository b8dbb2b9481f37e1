/** Who was in which room, with which identity and role, from when to when (`participant_sessions`). */
import type { Pool } from '@switchboard/db';
import type { Role } from '@switchboard/protocol';

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
    await this.#pool.query(
      `INSERT INTO participant_sessions (room_id, peer_id, display_name, subject, role)
       VALUES ($1, $2, $3, $4, $5)`,
      [p.roomId, p.peerId, p.displayName, p.subject, p.role],
    );
  }

  /** Records the end of a peer's session (once: a later call changes nothing). */
  async left(peerId: string): Promise<void> {
    await this.#pool.query(
      'UPDATE participant_sessions SET left_at = now() WHERE peer_id = $1 AND left_at IS NULL',
      [peerId],
    );
  }
}
