/**
 * A minimal socket.io client on a bare `ws` WebSocket, for benchmarks that hold thousands of
 * connections: the engine.io v4 handshake and heartbeat over WebSocket only, socket.io's CONNECT
 * with auth, events with acknowledgements. socket.io-client keeps a Manager, a Socket, an
 * engine.io socket with its timers and a decoder per connection; with 10,000 of them the chat
 * bench's generator had an old generation of its own to mark, and its event loop stalled for
 * 0.35-1.2 s at 100,000 messages a minute on the core it shares with Postgres and Redis. This holds
 * a WebSocket and a map of pending acknowledgements.
 *
 * Frames (engine.io type, then socket.io type): `0{...}` open, `2`/`3` ping/pong, `40{auth}`
 * connect, `44{...}` connect refused, `42[<event>,<payload>]` an event, `42<id>[...]` one that
 * wants an acknowledgement, `43<id>[<answer>]` the acknowledgement.
 */
import WebSocket from 'ws';

/** A server event's frame as it arrives, not decoded (`42["chatMessage",{...}]`). */
export type RawEventListener = (frame: string) => void;

export class RawSocketIo {
  readonly #ws: WebSocket;
  readonly #acks = new Map<number, (answer: string) => void>();
  #nextId = 0;
  /** Server events, as raw frames. */
  onEvent: RawEventListener = () => {};

  private constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  /** Connects to `url` (http://host:port) and completes socket.io's CONNECT with `auth`. */
  static async connect(
    url: string,
    auth: object,
    headers: Record<string, string> = {},
    timeoutMs = 30_000,
  ): Promise<RawSocketIo> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, {
      headers,
    });
    const socket = new RawSocketIo(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no socket.io connect in ${timeoutMs} ms`)), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      ws.once('error', fail);
      ws.on('message', (data) => {
        const frame = String(data);
        if (frame.startsWith('0')) {
          ws.send(`40${JSON.stringify(auth)}`);
        } else if (frame.startsWith('40')) {
          clearTimeout(timer);
          ws.off('error', fail);
          // Once connected, a reset (the server stopping) only ends this client.
          ws.on('error', () => {});
          resolve();
        } else if (frame.startsWith('44')) {
          const { message } = JSON.parse(frame.slice(2)) as { message?: string };
          fail(new Error(`socket.io connect refused: ${message ?? frame}`));
        } else {
          socket.#receive(frame);
        }
      });
    });
    return socket;
  }

  /** Sends an event; `ack` gets the acknowledgement's raw arguments (`[<answer>]`). */
  emit(event: string, payload: unknown, ack?: (answer: string) => void): void {
    if (ack === undefined) {
      this.#ws.send(`42${JSON.stringify([event, payload])}`);
      return;
    }
    const id = this.#nextId++;
    this.#acks.set(id, ack);
    this.#ws.send(`42${id}${JSON.stringify([event, payload])}`);
  }

  /** A request answered `{ ok, data | error }`: its data, or rejects with the error's code and message. */
  request<T>(event: string, payload: unknown, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${event}: no answer in ${timeoutMs} ms`)), timeoutMs);
      this.emit(event, payload, (raw) => {
        clearTimeout(timer);
        const [answer] = JSON.parse(raw) as [
          { ok: true; data: T } | { ok: false; error: { code: string; message: string } },
        ];
        if (answer.ok) {
          resolve(answer.data);
        } else {
          // The code as its own field too (as SignalingConnection's errors have it), for retry policies.
          reject(
            Object.assign(new Error(`${event}: ${answer.error.code} ${answer.error.message}`), {
              code: answer.error.code,
            }),
          );
        }
      });
    });
  }

  close(): void {
    this.#ws.close();
  }

  #receive(frame: string): void {
    if (frame === '2') {
      this.#ws.send('3');
    } else if (frame.startsWith('43')) {
      const open = frame.indexOf('[', 2);
      const id = Number(frame.slice(2, open));
      const ack = this.#acks.get(id);
      if (ack) {
        this.#acks.delete(id);
        ack(frame.slice(open));
      }
    } else if (frame.startsWith('42')) {
      this.onEvent(frame);
    }
  }
}
