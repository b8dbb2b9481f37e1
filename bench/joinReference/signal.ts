/**
 * A synthetic participant's way into the join reference (`server.ts`): its `ws` protocol as a
 * load-test `PeerSignal`, so the participants already in a reference room are the same cheap
 * libwebrtc publishers as in one of ours.
 */
import type { types } from 'mediasoup-client';
import { WebSocket } from 'ws';
import type { PeerSignal } from '../loadtest/LoadPeer';

export async function referenceSignal(baseUrl: string, room: string, name: string): Promise<PeerSignal> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`);
  const pending = new Map<number, (answer: { ok: boolean; data: unknown; error?: string }) => void>();
  let nextId = 1;
  ws.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as { id?: number; ok: boolean; data: unknown; error?: string };
    if (message.id !== undefined) {
      pending.get(message.id)?.(message);
      pending.delete(message.id);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const request = <T>(method: string, data: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (answer) => (answer.ok ? resolve(answer.data as T) : reject(new Error(answer.error))));
      ws.send(JSON.stringify({ id, method, data }));
    });
  // The reference answers its join with the router's capabilities: joining is asking for them.
  let joined: Promise<{ rtpCapabilities: types.RtpCapabilities }> | undefined;
  const join = () => (joined ??= request('join', { room, name }));
  return {
    capabilities: async () => (await join()).rtpCapabilities,
    join: async () => {
      await join();
    },
    createTransport: async () => ({
      options: await request<types.TransportOptions>('createTransport'),
      consumers: [],
    }),
    connect: async (transportId, dtlsParameters) => {
      await request('connect', { transportId, dtlsParameters });
    },
    produce: async (transportId, kind, rtpParameters) =>
      (await request<{ id: string }>('produce', { transportId, kind, rtpParameters })).id,
    resume: async () => {
      throw new Error('the join reference signal only publishes');
    },
    close: () => ws.close(),
  };
}
