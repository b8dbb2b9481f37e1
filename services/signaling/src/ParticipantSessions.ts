/** Who was in which room, with which identity and role, from when to when (`participant_sessions`). */
import type { Pool } from '@switchboard/db';
import { AppError } from '@switchboard/errors';
import type { Role } from '@switchboard/protocol';

/** Postgres: a row refers to one that is not there (the room, deleted meanwhile). */
const FOREIGN_KEY_VIOLATION = '23503';
/** Most departures one statement records. */
const MAX_LEFT_BATCH = 500;

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class ParticipantSessions {
  readonly #pool: Pool;
  /** Departures not recorded yet, each with whoever waits for it. */
  readonly #leaving = new Map<string, Waiter[]>();
  #recording = false;

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

  /**
   * Records the end of a peer's session (once: a later call changes nothing). Departures are
   * grouped as chat sends are: one goes at once, those arriving meanwhile go together in the next
   * statement. An instance shutting down with 10,000 peers had queued 10,000 updates for a pool of
   * 20 connections, and those waiting over the pool's 5 s were lost ('could not record leaving').
   */
  left(peerId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiters = this.#leaving.get(peerId);
      if (waiters) {
        waiters.push({ resolve, reject });
      } else {
        this.#leaving.set(peerId, [{ resolve, reject }]);
      }
      void this.#recordLeaving();
    });
  }

  async #recordLeaving(): Promise<void> {
    if (this.#recording) {
      return;
    }
    this.#recording = true;
    try {
      while (this.#leaving.size > 0) {
        const batch: [string, Waiter[]][] = [];
        for (const entry of this.#leaving) {
          batch.push(entry);
          if (batch.length === MAX_LEFT_BATCH) {
            break;
          }
        }
        batch.forEach(([peerId]) => this.#leaving.delete(peerId));
        const settle = (outcome: (waiter: Waiter) => void) =>
          batch.forEach(([, waiters]) => waiters.forEach(outcome));
        try {
          await this.#pool.query(
            'UPDATE participant_sessions SET left_at = now() WHERE peer_id = ANY($1::text[]) AND left_at IS NULL',
            [batch.map(([peerId]) => peerId)],
          );
          settle((waiter) => waiter.resolve());
        } catch (error) {
          settle((waiter) => waiter.reject(error));
        }
      }
    } finally {
      this.#recording = false;
    }
  }
}
