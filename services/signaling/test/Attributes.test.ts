/**
 * Integration: participant attributes and raised hands across two signaling instances (real
 * media node, Consul, Redis, Postgres): set and seen by everyone, capped and validated, refused
 * for others' keys (a host may only lower a hand), hand order by the server's clock, and a hand
 * that drops when its owner speaks (the room's real audio levels from the media node).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTE_LIMITS, type PeerInfo } from '@switchboard/protocol';
import { ensureRoom, uniqueRoom, waitFor } from '@switchboard/testing';
import { HAND_SPEAKING_MS } from '../src/Attributes';
import { data, join, joined, next, record, request, TestClients, type Client } from './clients';
import { startHarness, type Harness } from './harness';
import { RtcParticipants } from './rtcPeer';

const SECRET = 'attributes-test-secret-0123456789';

describe('participant attributes and raised hands (two signaling instances)', () => {
  let h: Harness;
  let redis: Redis;
  const clients = new TestClients(SECRET);
  const rtc = new RtcParticipants(clients);

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET, signalingInstances: 2 });
    ({ redis } = h);
  }, 60_000);

  afterAll(async () => {
    rtc.closeAll();
    clients.closeAll();
    await h?.close();
  });

  async function enter(room: string, instance: number, name: string, role: 'host' | 'guest' = 'guest') {
    const client = await clients.connect(
      h.signaling[instance].port,
      await clients.token(room, name, { role }),
    );
    const { peerId } = await joined(client);
    return { client, peerId };
  }
  const stored = async (room: string, peerId: string) =>
    JSON.parse((await redis.hget(`sb:room:${room}:peers`, peerId)) ?? '{}') as PeerInfo;

  it('sets your own attributes for everyone (one event), shown to later joiners; null removes a key', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('attr'));
    const ada = await enter(room, 0, 'Ada');
    const grace = await enter(room, 1, 'Grace');
    const seen = next(grace.client, 'attributesChanged');
    expect(
      data(
        await request(ada.client, 'setAttributes', { attributes: { pronouns: 'she/her', 'x.team': 'blue' } }),
      ),
    ).toEqual({ attributes: { pronouns: 'she/her', 'x.team': 'blue' } });
    expect(await seen).toEqual({
      peerId: ada.peerId,
      attributes: { pronouns: 'she/her', 'x.team': 'blue' },
      changed: { pronouns: 'she/her', 'x.team': 'blue' },
    });
    const removed = next(grace.client, 'attributesChanged');
    data(await request(ada.client, 'setAttributes', { attributes: { 'x.team': null } }));
    expect((await removed).attributes).toEqual({ pronouns: 'she/her' });
    const late = await clients.connect(h.signaling[1].port, await clients.token(room, 'Late'));
    const { peers } = data<{ peers: PeerInfo[] }>(await join(late));
    expect(peers.find((p) => p.peerId === ada.peerId)?.attributes).toEqual({ pronouns: 'she/her' });
    expect((await stored(room, ada.peerId)).attributes).toEqual({ pronouns: 'she/her' });
  });

  it('refuses bad keys, oversized values, too many keys, and a set past the total size', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('attr-cap'));
    const { client } = await enter(room, 0, 'Ada');
    const refused = async (attributes: Record<string, unknown>, code: string, message?: RegExp) => {
      const answer = await request(client, 'setAttributes', { attributes });
      expect(answer, JSON.stringify(attributes).slice(0, 80)).toMatchObject({ ok: false, error: { code } });
      if (message && !answer.ok) {
        expect(answer.error.message).toMatch(message);
      }
    };
    await refused({}, 'INVALID_ARGUMENT');
    await refused({ 'bad key': 'x' }, 'INVALID_ARGUMENT');
    await refused({ '.dot': 'x' }, 'INVALID_ARGUMENT');
    await refused({ k: 'x'.repeat(ATTRIBUTE_LIMITS.valueLength + 1) }, 'INVALID_ARGUMENT');
    await refused({ k: 'bell\u0007' }, 'INVALID_ARGUMENT');
    await refused({ k: 42 }, 'INVALID_ARGUMENT');
    const many = Object.fromEntries(
      Array.from({ length: ATTRIBUTE_LIMITS.keys + 1 }, (_, i) => [`k${i}`, 'v']),
    );
    await refused(many, 'INVALID_ARGUMENT');
    // 16 keys of 200 characters each fit one by one but not together (2,048 characters in all).
    for (let i = 0; i < 10; i++) {
      data(await request(client, 'setAttributes', { attributes: { [`big${i}`]: 'y'.repeat(200) } }));
    }
    await refused({ big10: 'y'.repeat(200) }, 'INVALID_ARGUMENT', /at most 2048 characters/);
    expect(
      Object.keys((await stored(room, (await h.redis.hkeys(`sb:room:${room}:peers`))[0])).attributes ?? {}),
    ).toHaveLength(10);
  });

  it("refuses changing another's attributes; a host may only lower a hand; not before joining", async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('attr-others'));
    const host = await enter(room, 0, 'Host', 'host');
    const ada = await enter(room, 1, 'Ada');
    const bob = await enter(room, 0, 'Bob');
    data(await request(ada.client, 'setAttributes', { attributes: { hand: '1', pronouns: 'she/her' } }));
    for (const [who, attributes] of [
      [bob.client, { hand: null }],
      [bob.client, { pronouns: 'he/him' }],
      [host.client, { pronouns: 'they/them' }],
      [host.client, { pronouns: null }],
      [host.client, { hand: '1' }],
    ] as [Client, Record<string, string | null>][]) {
      expect(await request(who, 'setAttributes', { peerId: ada.peerId, attributes })).toMatchObject({
        ok: false,
        error: { code: 'PERMISSION_DENIED' },
      });
    }
    expect((await stored(room, ada.peerId)).attributes).toMatchObject({
      pronouns: 'she/her',
      hand: expect.any(String),
    });
    const lowered = next(ada.client, 'attributesChanged');
    data(await request(host.client, 'setAttributes', { peerId: ada.peerId, attributes: { hand: null } }));
    expect(await lowered).toEqual({
      peerId: ada.peerId,
      attributes: { pronouns: 'she/her' },
      changed: { hand: null },
    });
    expect(
      await request(host.client, 'setAttributes', { peerId: 'nobody-here', attributes: { hand: null } }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const outsider = await clients.connect(h.signaling[0].port, await clients.token(room, 'Outsider'));
    expect(await request(outsider, 'setAttributes', { attributes: { hand: '1' } })).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION' },
    });
  });

  it("orders raised hands by the server's clock across instances, whatever the client sends", async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('hands'));
    const first = await enter(room, 1, 'First');
    const second = await enter(room, 0, 'Second');
    const third = await enter(room, 1, 'Third');
    // A client that claims an early time is stamped with the server's anyway.
    data(await request(first.client, 'setAttributes', { attributes: { hand: '5000' } }));
    data(await request(second.client, 'setAttributes', { attributes: { hand: '1' } }));
    data(await request(third.client, 'setAttributes', { attributes: { hand: '0' } }));
    // Raising again keeps one's place.
    const again = data<{ attributes: { hand: string } }>(
      await request(first.client, 'setAttributes', { attributes: { hand: '1' } }),
    );
    const hands = await Promise.all(
      [first, second, third].map(async (p) => Number((await stored(room, p.peerId)).attributes?.hand)),
    );
    expect(hands[0]).toBe(Number(again.attributes.hand));
    expect(hands[0]).toBeGreaterThan(Date.now() - 60_000);
    expect(hands[0]).toBeLessThanOrEqual(hands[1]);
    expect(hands[1]).toBeLessThanOrEqual(hands[2]);
    // Leaving takes the hand with the participant.
    data(await request(second.client, 'leave', {}));
    expect(await redis.hexists(`sb:room:${room}:peers`, second.peerId)).toBe(0);
  });

  it(`lowers a raised hand once its owner has spoken for ${HAND_SPEAKING_MS / 1000} s (real audio levels)`, async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('hand-speak'));
    const listener = await enter(room, 0, 'Listener');
    const changes = record(listener.client, 'attributesChanged');
    // Real WebRTC from Node: a microphone playing a tone (camera off), on the other instance.
    const speaker = await rtc.join(h.signaling[1].port, room, 'Speaker', { camera: false });
    const raisedAt = Date.now();
    data(await request(speaker.client, 'setAttributes', { attributes: { hand: '1' } }));
    const lowered = await waitFor(
      () => changes.find((e) => e.peerId === speaker.peerId && e.changed.hand === null),
      {
        timeoutMs: 20_000,
        what: "the speaker's hand lowered",
      },
    );
    expect(Date.now() - raisedAt).toBeGreaterThanOrEqual(HAND_SPEAKING_MS);
    expect(lowered.attributes).toEqual({});
    // A silent participant's hand stays up.
    data(await request(listener.client, 'setAttributes', { attributes: { hand: '1' } }));
    await new Promise((resolve) => setTimeout(resolve, HAND_SPEAKING_MS + 1000));
    expect((await stored(room, listener.peerId)).attributes?.hand).toMatch(/^\d+$/);
  }, 40_000);

  it('carries a reaction to everyone across instances; only the fixed set, at most 10 per 10 s per identity', async () => {
    const room = await ensureRoom(h.pool, uniqueRoom('react'));
    const sub = `guest:${randomUUID()}`;
    const adaClient = await clients.connect(h.signaling[0].port, await clients.token(room, 'Ada', { sub }));
    const ada = { client: adaClient, peerId: (await joined(adaClient)).peerId };
    const grace = await enter(room, 1, 'Grace');
    const seen = record(grace.client, 'reaction');
    const own = record(ada.client, 'reaction');
    data(await request(ada.client, 'react', { emoji: '👏' }));
    await waitFor(() => seen.length === 1 && own.length === 1, { what: 'the reaction on both sides' });
    expect(seen[0]).toEqual({ peerId: ada.peerId, emoji: '👏' });
    for (const emoji of ['🍕', '<img src=x>', '', 42]) {
      expect(await request(ada.client, 'react', { emoji })).toMatchObject({
        ok: false,
        error: { code: 'INVALID_ARGUMENT' },
      });
    }
    for (let i = 1; i < 10; i++) {
      data(await request(ada.client, 'react', { emoji: '👍' }));
    }
    const refused = await request(ada.client, 'react', { emoji: '👍' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'RESOURCE_EXHAUSTED' } });
    expect(!refused.ok && refused.error.retryAfterSeconds).toBeGreaterThan(0);
    // A new connection of the same identity (it replaces the old) has no fresh budget.
    const again = await clients.connect(h.signaling[0].port, await clients.token(room, 'Ada', { sub }));
    await joined(again);
    expect(await request(again, 'react', { emoji: '👍' })).toMatchObject({
      ok: false,
      error: { code: 'RESOURCE_EXHAUSTED' },
    });
    await waitFor(() => seen.length === 10, { what: 'the nine more reactions' });
    const outsider = await clients.connect(h.signaling[1].port, await clients.token(room, 'Outsider'));
    expect(await request(outsider, 'react', { emoji: '👍' })).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION' },
    });
  });
});
