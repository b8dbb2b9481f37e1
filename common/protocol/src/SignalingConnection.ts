/**
 * A typed request/acknowledgement over a signaling socket, the one every client uses (the UI, the
 * signaling tests, the load test and the benches): each request carries a correlation id (logged
 * from the browser through signaling into the media node), has a deadline, and either resolves
 * with the typed answer or rejects with an AppError holding the server's error code (the same class
 * the services throw, so one `instanceof` and one `code` everywhere).
 * Browser-safe: it needs only a socket.io-like socket (`emit` with an acknowledgement, `on`/`off`).
 */
import { AppError, toErrorCode } from '@switchboard/errors';
import type { Ack, RequestName, RequestPayload, ResponseMap, ServerToClientEvents } from './index';

// socket.io's typed sockets narrow their event names; a connection takes any of them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMethod = (...args: any[]) => unknown;

/** The part of a socket.io client socket (typed or not) a connection uses. */
export interface SignalingSocket {
  readonly connected: boolean;
  emit: AnyMethod;
  on: AnyMethod;
  off: AnyMethod;
}

export interface SignalingConnectionOptions {
  /** A request's deadline unless told otherwise (default 10 s). */
  timeoutMs?: number;
  /** Makes each request's correlation id (default: a random UUID). */
  correlationId?: () => string;
  /** Told when a request goes out and when its answer (or deadline) comes: the page's round trips. */
  onRoundTrip?: (event: RequestName, phase: 'sent' | 'answered') => void;
}

const randomId = () =>
  typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

export class SignalingConnection {
  readonly socket: SignalingSocket;
  readonly #timeoutMs: number;
  readonly #correlationId: () => string;
  readonly #onRoundTrip: SignalingConnectionOptions['onRoundTrip'];

  constructor(socket: SignalingSocket, options: SignalingConnectionOptions = {}) {
    this.socket = socket;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#correlationId = options.correlationId ?? randomId;
    this.#onRoundTrip = options.onRoundTrip;
  }

  /**
   * Sends a request and waits for its acknowledgement as it came: `{ ok, data }` or
   * `{ ok: false, error }` (a deadline passed is DEADLINE_EXCEEDED). Never rejects. `payload` is
   * sent as given (tests send malformed ones on purpose), with a correlation id added when it is an
   * object without one.
   */
  answer<E extends RequestName>(
    event: E,
    payload: RequestPayload<E> | Record<string, unknown>,
    options: { timeoutMs?: number } = {},
  ): Promise<Ack<ResponseMap[E]>> {
    const correlationId =
      payload && typeof payload === 'object' && !Array.isArray(payload) && !('correlationId' in payload)
        ? this.#correlationId()
        : undefined;
    const sent = correlationId ? { ...payload, correlationId } : payload;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    this.#onRoundTrip?.(event, 'sent');
    return new Promise<Ack<ResponseMap[E]>>((resolve) => {
      const timer = setTimeout(
        () =>
          resolve({
            ok: false,
            error: {
              code: 'DEADLINE_EXCEEDED',
              message: `${event} got no answer in ${timeoutMs} ms`,
              correlationId,
            },
          }),
        timeoutMs,
      );
      this.socket.emit(event, sent, (ack: Ack<ResponseMap[E]>) => {
        clearTimeout(timer);
        resolve(ack);
      });
    }).finally(() => this.#onRoundTrip?.(event, 'answered'));
  }

  /**
   * Sends a request; resolves with its typed answer, or rejects with an AppError: the server's
   * code, DEADLINE_EXCEEDED (no answer in time) or UNAVAILABLE (not connected).
   */
  async request<E extends RequestName>(
    event: E,
    payload: RequestPayload<E>,
    options: { timeoutMs?: number } = {},
  ): Promise<ResponseMap[E]> {
    if (!this.socket.connected) {
      throw new AppError('UNAVAILABLE', `${event}: not connected`);
    }
    const answer = await this.answer(event, payload, options);
    if (!answer.ok) {
      const { code, message, correlationId, retryAfterSeconds } = answer.error;
      throw new AppError(toErrorCode(code), `${event}: ${message}`, { correlationId, retryAfterSeconds });
    }
    return answer.data;
  }

  /** Listens to one server event, typed; returns what stops listening. */
  on<E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): () => void {
    const handler = listener as unknown as AnyMethod;
    this.socket.on(event, handler);
    return () => this.socket.off(event, handler);
  }
}
