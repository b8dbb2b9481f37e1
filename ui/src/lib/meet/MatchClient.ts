/**
 * The browser's side of "Meet someone": the `/match` socket (its own connection: the call's
 * socket closes when a match ends, and must not take this one with it), requests with their
 * acknowledgements, and what the server tells (matched, the match ended). Guests are known by an
 * id this browser keeps; a signed-in person by their session cookie.
 */
import { io, type Socket } from 'socket.io-client';
import {
  MATCH_NAMESPACE,
  type Ack,
  type MatchClientEvents,
  type MatchEndReason,
  type MatchFound,
  type MatchRequestName,
  type MatchRequestPayload,
  type MatchResponseMap,
  type MatchServerEvents,
} from '@switchboard/protocol';

const GUEST_KEY = 'sb:guest-id';

function guestId(): string {
  let id = localStorage.getItem(GUEST_KEY);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(GUEST_KEY, id);
  }
  return id;
}

export interface MatchEvents {
  matched: (match: MatchFound) => void;
  ended: (matchId: string, reason: MatchEndReason) => void;
  /** Kept out of matchmaking (reports from several people): until when, and why. */
  excluded: (until: Date, reason: string) => void;
  /** The connection dropped (`true`) or is back (`false`). */
  connection: (lost: boolean) => void;
}

export class MatchClient {
  readonly #socket: Socket<MatchServerEvents, MatchClientEvents>;

  constructor(events: MatchEvents) {
    this.#socket = io(MATCH_NAMESPACE, {
      auth: { guestId: guestId() },
      transports: ['websocket'],
      forceNew: true,
    });
    this.#socket.on('matched', (match) => events.matched(match));
    this.#socket.on('matchEnded', ({ matchId, reason }) => events.ended(matchId, reason));
    this.#socket.on('excluded', ({ until, reason }) => events.excluded(new Date(until), reason));
    this.#socket.on('disconnect', () => events.connection(true));
    this.#socket.io.on('reconnect', () => events.connection(false));
  }

  /** Sends a request; resolves with its answer or throws its error (10 s deadline). */
  async request<E extends MatchRequestName>(
    event: E,
    payload: MatchRequestPayload<E>,
  ): Promise<MatchResponseMap[E]> {
    const answer = (await (
      this.#socket.timeout(10_000) as unknown as {
        emitWithAck(event: string, payload: unknown): Promise<Ack<MatchResponseMap[E]>>;
      }
    )
      .emitWithAck(event, payload)
      .catch(() => ({
        ok: false,
        error: { code: 'DEADLINE_EXCEEDED', message: 'The server did not answer; try again' },
      }))) as Ack<MatchResponseMap[E]>;
    if (!answer.ok) {
      const message = answer.error.message;
      throw new Error(message.charAt(0).toUpperCase() + message.slice(1));
    }
    return answer.data;
  }

  close(): void {
    this.#socket.disconnect();
  }
}
