/**
 * Unit: the request/acknowledgement every client uses, over a stand-in socket (the real socket.io
 * path is exercised by every signaling integration test and the e2e suite, which use it too).
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '@switchboard/errors';
import { SignalingConnection, type SignalingSocket } from '../src';

type Emitted = { event: string; payload: Record<string, unknown>; ack: (answer: unknown) => void };

function fakeSocket(connected = true) {
  const emitted: Emitted[] = [];
  const listeners = new Map<string, Set<(...args: never[]) => void>>();
  const socket: SignalingSocket & { emitted: Emitted[]; fire(event: string, value: unknown): void } = {
    connected,
    emitted,
    emit: (event: string, payload: Record<string, unknown>, ack: (answer: unknown) => void) =>
      emitted.push({ event, payload, ack }),
    on: (event: string, listener: (...args: never[]) => void) => {
      listeners.set(event, (listeners.get(event) ?? new Set()).add(listener));
    },
    off: (event: string, listener: (...args: never[]) => void) => listeners.get(event)?.delete(listener),
    fire: (event, value) => {
      for (const listener of listeners.get(event) ?? []) {
        (listener as (v: unknown) => void)(value);
      }
    },
  };
  return socket;
}

describe('SignalingConnection', () => {
  it('sends a correlation id with each request and resolves with the typed answer', async () => {
    const socket = fakeSocket();
    const connection = new SignalingConnection(socket, { correlationId: () => 'corr-1' });
    const answered = connection.request('setPresence', { state: 'away' });
    expect(socket.emitted[0]).toMatchObject({
      event: 'setPresence',
      payload: { state: 'away', correlationId: 'corr-1' },
    });
    socket.emitted[0].ack({ ok: true, data: {} });
    await expect(answered).resolves.toEqual({});
    // One the caller chose is kept.
    void connection.request('setPresence', { state: 'active', correlationId: 'mine' });
    expect(socket.emitted[1].payload.correlationId).toBe('mine');
  });

  it('tells when each request went out and when its answer or deadline came (the page marks its round trips)', async () => {
    const socket = fakeSocket();
    const seen: string[] = [];
    const connection = new SignalingConnection(socket, {
      timeoutMs: 20,
      onRoundTrip: (event, phase) => seen.push(`${phase} ${event}`),
    });
    const answered = connection.request('setPresence', { state: 'away' });
    const late = connection.answer('setAttributes', { attributes: {} });
    expect(seen).toEqual(['sent setPresence', 'sent setAttributes']);
    socket.emitted[0].ack({ ok: true, data: {} });
    await answered;
    expect(seen).toEqual(['sent setPresence', 'sent setAttributes', 'answered setPresence']);
    await expect(late).resolves.toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED' } });
    expect(seen.at(-1)).toBe('answered setAttributes');
  });

  it("rejects with the server's error code and correlation id", async () => {
    const socket = fakeSocket();
    const connection = new SignalingConnection(socket);
    const answered = connection.request('setAttributes', { attributes: { hand: '1' } });
    socket.emitted[0].ack({
      ok: false,
      error: { code: 'PERMISSION_DENIED', message: 'no', correlationId: 'c' },
    });
    const error = await answered.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'PERMISSION_DENIED',
      correlationId: 'c',
      message: 'setAttributes: no',
    });
  });

  it('gives up at the deadline (DEADLINE_EXCEEDED), and refuses at once when not connected', async () => {
    const connection = new SignalingConnection(fakeSocket(), { timeoutMs: 20 });
    await expect(connection.request('getStats', {})).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    const answer = await connection.answer('getStats', {}, { timeoutMs: 10 });
    expect(answer).toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED' } });
    const offline = new SignalingConnection(fakeSocket(false));
    await expect(offline.request('getStats', {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('sends malformed payloads as they are through answer() (tests send them on purpose)', () => {
    const socket = fakeSocket();
    void new SignalingConnection(socket).answer('join', null as never);
    expect(socket.emitted[0].payload).toBeNull();
  });

  it('listens to server events, typed, until told to stop', () => {
    const socket = fakeSocket();
    const seen: string[] = [];
    const stop = new SignalingConnection(socket).on('attributesChanged', (event) => seen.push(event.peerId));
    socket.fire('attributesChanged', { peerId: 'a', attributes: {}, changed: {} });
    stop();
    socket.fire('attributesChanged', { peerId: 'b', attributes: {}, changed: {} });
    expect(seen).toEqual(['a']);
  });
});
