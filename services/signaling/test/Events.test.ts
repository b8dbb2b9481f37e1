/**
 * Lifecycle events of a scripted call, as they land on the event stream (real Redis, signaling,
 * media node, libwebrtc peers): each once, in the room's order, from the one owner of each piece of
 * state, including when two instances race to remove the same peer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_STREAM, readEvent, type SwitchboardEvent } from '@switchboard/events';
import { ensureRoom, uniqueRoom, waitFor } from '@switchboard/testing';
import { data, joined, request, TestClients } from './clients';
import { Presence } from '../src/Presence';
import { startHarness, type Harness } from './harness';
import { RtcPeer } from './rtcPeer';

const SECRET = 'events-test-secret-0123456789abcdef';

describe('lifecycle events of a call (real Redis stream)', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);
  const room = uniqueRoom('events');
  let since: string;

  /** This room's events on the stream since the test started, in stream order. */
  const roomEvents = async (): Promise<SwitchboardEvent[]> => {
    const entries = (await h.redis.xrange(EVENT_STREAM, since, '+')) as [string, string[]][];
    return entries
      .map(([, fields]) => readEvent(fields[fields.indexOf('event') + 1]))
      .flatMap((read) => (read.ok ? [read.event] : []))
      .filter((event) => event.roomId === room);
  };

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET, signalingEnv: { SIGNALING_QUALITY_SAMPLE_MS: '1000' } });
    await ensureRoom(h.pool, room);
    since = `${Date.now()}-0`;
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  it('a scripted call: every lifecycle event once, in the order it happened in the room', async () => {
    const connect = async (name: string, role: 'host' | 'participant' = 'participant') =>
      clients.connect(h.signaling[0].port, await clients.token(room, name, { role }));
    const ada = await RtcPeer.join(await connect('Ada', 'host'));
    const bob = await RtcPeer.join(await connect('Bob'));
    // Bob mutes himself twice (the second is no change), then Ada (host) mutes his camera.
    data(await request(bob.client, 'pauseProducer', { producerId: bob.producers.audio }));
    data(await request(bob.client, 'pauseProducer', { producerId: bob.producers.audio }));
    data(await request(ada.client, 'hostMute', { peerId: bob.peerId, kind: 'video' }));
    // Stats asked for often: at most one sample a second (SIGNALING_QUALITY_SAMPLE_MS) per person.
    await waitFor(
      async () => (await ada.stats()).producers.some((p) => p.streams.some((st) => st.bitrate > 0)),
      { timeoutMs: 20_000, what: "Ada's media reaching the SFU" },
    );
    for (let i = 0; i < 5; i++) {
      await ada.stats();
    }
    // Ada removes Bob; then she leaves herself and the room is empty.
    data(await request(ada.client, 'removePeer', { peerId: bob.peerId }));
    await waitFor(async () => (await roomEvents()).some((e) => e.type === 'participant.left'), {
      what: "Bob's departure on the stream",
    });
    data(await request(ada.client, 'leave', {}));
    const events = await waitFor(
      async () => {
        const all = await roomEvents();
        return all.at(-1)?.type === 'room.ended' ? all : undefined;
      },
      { what: 'room.ended on the stream' },
    );
    ada.close();
    bob.close();

    const who = (e: SwitchboardEvent) =>
      e.peerId === ada.peerId ? 'Ada' : e.peerId === bob.peerId ? 'Bob' : '-';
    const line = (e: SwitchboardEvent) => `${e.type} ${who(e)}`;
    // Stream order of the state changes (quality samples and admissions aside).
    const transitions = events.filter((e) => e.type !== 'quality.sample').map(line);
    expect(transitions.slice(0, 2)).toEqual(['room.started -', 'participant.joined Ada']);
    const index = (entry: string) => {
      const at = transitions.indexOf(entry);
      expect(at, `${entry} in ${transitions.join(', ')}`).toBeGreaterThanOrEqual(0);
      return at;
    };
    expect(transitions.filter((t) => t.startsWith('track.published Ada'))).toHaveLength(2);
    expect(index('participant.joined Bob')).toBeGreaterThan(index('participant.joined Ada'));
    expect(transitions.filter((t) => t === 'track.published Bob')).toHaveLength(2);
    expect(transitions.filter((t) => t === 'track.muted Bob')).toHaveLength(2); // the repeat is no change
    const mutes = events.filter((e) => e.type === 'track.muted');
    expect(mutes.map((e) => e.type === 'track.muted' && e.data.byHost)).toEqual([false, true]);
    expect(index('participant.removed Bob')).toBeLessThan(index('participant.left Bob'));
    expect(transitions.filter((t) => t === 'track.unpublished Bob')).toHaveLength(2);
    expect(index('track.unpublished Bob')).toBeLessThan(index('participant.left Bob'));
    expect(transitions.slice(-2)).toEqual(['participant.left Ada', 'room.ended -']);
    for (const type of ['room.started', 'room.ended']) {
      expect(
        events.filter((e) => e.type === type),
        type,
      ).toHaveLength(1);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const joined = events.find((e) => e.type === 'participant.joined' && e.peerId === bob.peerId);
    expect(joined?.data).toMatchObject({ displayName: 'Bob', role: 'participant' });
    const left = events.find((e) => e.type === 'participant.left' && e.peerId === bob.peerId);
    expect(left?.data).toEqual({ reason: 'left' });
    // Quality: a few samples (not one per stats request), numbers from the SFU.
    const samples = events.filter((e) => e.type === 'quality.sample' && e.peerId === ada.peerId);
    expect(samples.length).toBeGreaterThanOrEqual(1);
    expect(samples.length).toBeLessThanOrEqual(3);
    expect(samples[0].data).toMatchObject({
      bitrateKbps: expect.any(Number),
      lossPercent: expect.any(Number),
    });
    expect((samples[0].data as { bitrateKbps: number }).bitrateKbps).toBeGreaterThan(0);
    // Each sample's loss also feeds the media-loss SLI's histogram (docs/slo.md).
    const metrics = await (await fetch(`http://127.0.0.1:${h.signaling[0].port}/metrics`)).text();
    const lossCount = /^switchboard_media_loss_percent_count\{[^}]*\} (\d+)$/m.exec(metrics)?.[1];
    expect(Number(lossCount)).toBe(events.filter((e) => e.type === 'quality.sample').length);
  }, 60_000);

  it('a peer removed by two instances at once leaves once (participant.left and room.ended)', async () => {
    const other = uniqueRoom('events-race');
    await ensureRoom(h.pool, other);
    const client = await clients.connect(h.signaling[0].port, await clients.token(other, 'Solo'));
    const { peerId } = await joined(client);
    const start = `${Date.now()}-0`;
    // What a leaving socket and the ghost sweep of another instance would both do.
    const presence = new Presence(h.redis);
    const results = await Promise.all(
      [0, 1, 2].map(() => presence.removePeer(other, peerId, 'disconnected')),
    );
    expect(results.filter((r) => r.removed)).toHaveLength(1);
    const entries = (await h.redis.xrange(EVENT_STREAM, start, '+')) as [string, string[]][];
    const types = entries
      .map(([, fields]) => readEvent(fields[fields.indexOf('event') + 1]))
      .flatMap((read) => (read.ok && read.event.roomId === other ? [read.event.type] : []));
    expect(types).toEqual(['participant.left', 'room.ended']);
    client.disconnect();
  });
});
