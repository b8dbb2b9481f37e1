/**
 * The chat bench's bare-WebSocket socket.io client against a real socket.io server: it connects
 * with auth and headers (or reports the refusal), gets acknowledgements, receives events as raw
 * frames, and answers the heartbeat so the server keeps it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/testing';
import { RawSocketIo } from '../bench/rawSocketIo';

describe('RawSocketIo (real socket.io server)', () => {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], pingInterval: 100, pingTimeout: 200 });
  const connected: Socket[] = [];
  let url: string;

  beforeAll(async () => {
    io.use((socket, next) => {
      next(
        (socket.handshake.auth as { token?: string }).token === 'good' ? undefined : new Error('bad token'),
      );
    });
    io.on('connection', (socket) => {
      connected.push(socket);
      socket.on('echo', (payload: unknown, ack: (answer: unknown) => void) =>
        ack({ ok: true, data: payload }),
      );
      socket.on('fail', (_payload: unknown, ack: (answer: unknown) => void) =>
        ack({ ok: false, error: { code: 'INVALID_ARGUMENT', message: 'no' } }),
      );
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await io.close();
  });

  it('reports a refused connect', async () => {
    await expect(RawSocketIo.connect(url, { token: 'bad' })).rejects.toThrow(
      'socket.io connect refused: bad token',
    );
  });

  it('connects with auth and headers, gets acks and events, and stays connected through heartbeats', async () => {
    const client = await RawSocketIo.connect(url, { token: 'good' }, { 'x-forwarded-for': '10.0.0.7' });
    const server = connected.at(-1)!;
    expect(server.handshake.headers['x-forwarded-for']).toBe('10.0.0.7');

    expect(await client.request('echo', { a: 1 })).toEqual({ a: 1 });
    await expect(client.request('fail', {})).rejects.toThrow('fail: INVALID_ARGUMENT no');
    await expect(client.request('fail', {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const raw = await new Promise<string>((resolve) => client.emit('echo', 'x', resolve));
    expect(raw).toBe('[{"ok":true,"data":"x"}]');

    const frames: string[] = [];
    client.onEvent = (frame) => frames.push(frame);
    server.emit('chatMessage', { body: 'hello' });
    await waitFor(async () => frames.length === 1, { timeoutMs: 2_000, what: 'the event' });
    expect(frames[0]).toBe('42["chatMessage",{"body":"hello"}]');

    // Ten ping intervals: a client that did not answer would be dropped after 300 ms.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(server.connected).toBe(true);
    client.close();
    await waitFor(async () => !server.connected, { timeoutMs: 2_000, what: 'the server to see the close' });
  });
});
