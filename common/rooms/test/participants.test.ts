/**
 * The participant model against a real Redis: a round trip keeps every field of random
 * participants (so no field can be dropped on the way), everyone sees all but the private fields,
 * changes to different fields at once never undo each other, and a row that does not fit the
 * schema is refused rather than half read.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTE_LIMITS } from '@switchboard/protocol';
import { testRedisUrl, uniqueRoom } from '@switchboard/testing';
import {
  ParticipantStore,
  publicParticipant,
  roomKeys,
  storedParticipantSchema,
  type StoredParticipant,
} from '../src';

/** A seeded generator, so a failure names the seed that reproduces it. */
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]) => items[int(items.length)];
  const text = (
    max: number,
    alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 éü✓🙂-_.',
  ) => Array.from({ length: int(max + 1) }, () => pick([...alphabet])).join('');
  return { int, pick, text, next };
}

function randomParticipant(seed: number): StoredParticipant {
  const g = generator(seed);
  const attributes: Record<string, string> = {};
  for (let i = 0; i < g.int(ATTRIBUTE_LIMITS.keys); i++) {
    attributes[`k${i}${g.text(6, 'abc._-')}`] = g.text(40);
  }
  const participant: StoredParticipant = {
    peerId: randomUUID(),
    displayName: g.text(20) || 'x',
    role: g.pick(['host', 'participant', 'guest'] as const),
    sub: `${g.pick(['user', 'guest'])}:${randomUUID()}`,
    presence: g.pick(['active', 'away'] as const),
    attributes,
    instanceId: `signaling-${g.int(1000)}#${g.text(8, 'abcdef0123456789')}`,
    jti: randomUUID(),
  };
  if (g.next() < 0.5) {
    participant.address = `10.${g.int(256)}.${g.int(256)}.${g.int(256)}`;
  }
  if (g.next() < 0.5) {
    participant.mediaNode = `media-${g.int(10)}`;
  }
  return participant;
}

describe('ParticipantStore (real Redis)', () => {
  let redis: Redis;
  let store: ParticipantStore;

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
    store = new ParticipantStore(redis);
  });

  afterAll(() => {
    redis?.disconnect();
  });

  async function add(roomId: string, participant: StoredParticipant): Promise<void> {
    await store.claimIdentity(roomId, participant.sub, participant.peerId);
    expect(await store.addPeer(roomId, participant)).toBe(true);
  }

  it('keeps every field of 200 random participants through Redis, and shows everyone all but the private ones', async () => {
    const roomId = uniqueRoom('model');
    const seeds = Array.from({ length: 200 }, (_, i) => 1000 + i);
    const made = seeds.map(randomParticipant);
    for (const participant of made) {
      await add(roomId, participant);
    }
    for (const [i, participant] of made.entries()) {
      expect(await store.peer(roomId, participant.peerId), `seed ${seeds[i]}`).toEqual(participant);
    }
    const seen = await store.peers(roomId);
    expect(seen).toHaveLength(made.length);
    for (const info of seen) {
      const original = made.find((p) => p.peerId === info.peerId)!;
      const { instanceId: _i, jti: _j, address: _a, mediaNode: _m, ...everyone } = original;
      expect(info).toEqual(everyone);
      expect(publicParticipant(original)).toEqual(everyone);
    }
    // Every field the schema has is either shown or deliberately private: a new field cannot be
    // silently left out of what everyone sees.
    const shown = Object.keys(publicParticipant(storedParticipantSchema.parse(made[0])));
    expect([...shown, 'instanceId', 'jti', 'address', 'mediaNode'].sort()).toEqual(
      Object.keys(storedParticipantSchema.shape).sort(),
    );
  });

  it('merges concurrent changes to different fields and attribute keys without losing any', async () => {
    const roomId = uniqueRoom('merge');
    const participant = randomParticipant(7);
    participant.attributes = {};
    await add(roomId, participant);
    await Promise.all([
      store.update(roomId, participant.peerId, { presence: 'away' }),
      store.update(roomId, participant.peerId, { role: 'host' }),
      ...Array.from({ length: 10 }, (_, i) =>
        store.update(roomId, participant.peerId, { attributes: { [`key${i}`]: `value${i}` } }),
      ),
    ]);
    const after = await store.peer(roomId, participant.peerId);
    expect(after).toMatchObject({ presence: 'away', role: 'host' });
    expect(Object.keys(after!.attributes)).toHaveLength(10);
    // null removes a key; removing the last leaves an empty object, not a list or nothing.
    for (let i = 0; i < 10; i++) {
      await store.update(roomId, participant.peerId, { attributes: { [`key${i}`]: null } });
    }
    expect((await store.peer(roomId, participant.peerId))!.attributes).toEqual({});
    expect(JSON.parse((await redis.hget(roomKeys(roomId).peers, participant.peerId))!).attributes).toEqual(
      {},
    );
    expect(await store.update(roomId, 'not-here', { presence: 'away' })).toBeUndefined();
  });

  it('caps the merged attributes in Redis: changes that each fit but not together are refused there', async () => {
    const roomId = uniqueRoom('cap');
    const participant = randomParticipant(11);
    participant.attributes = {};
    await add(roomId, participant);
    // Two changes checked against the same earlier state (two instances at once): each of 1,200
    // characters fits the 2,048 alone; the second merged must be refused, not stored.
    const half = (key: string) => ({ [key]: '🙂'.repeat(ATTRIBUTE_LIMITS.valueLength / 2) });
    const big = (prefix: string) =>
      Object.assign({}, ...Array.from({ length: 5 }, (_, i) => half(`${prefix}${i}`))) as Record<
        string,
        string
      >;
    const outcomes = await Promise.allSettled([
      store.update(roomId, participant.peerId, { attributes: big('a') }),
      store.update(roomId, participant.peerId, { attributes: big('b') }),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `a participant's attributes hold at most ${ATTRIBUTE_LIMITS.totalChars} characters`,
    });
    const stored = (await store.peer(roomId, participant.peerId))!.attributes;
    expect(Object.keys(stored)).toHaveLength(5);
    // Counted as JavaScript counts (an emoji is two): exactly the cap fits, one more does not.
    await store.update(roomId, participant.peerId, {
      attributes: Object.fromEntries(Object.keys(stored).map((k) => [k, null])),
    });
    const exact = {
      k: 'x'.repeat(ATTRIBUTE_LIMITS.valueLength - 1),
      ...Object.fromEntries(
        Array.from({ length: 6 }, (_, i) => [`e${i}`, '🙂'.repeat(ATTRIBUTE_LIMITS.valueLength / 2 - 1)]),
      ),
    };
    const size = Object.entries(exact).reduce((n, [k, v]) => n + k.length + v.length, 0);
    const fill = { f: 'é'.repeat(ATTRIBUTE_LIMITS.totalChars - size - 1) };
    expect(
      await store.update(roomId, participant.peerId, { attributes: { ...exact, ...fill } }),
    ).toBeDefined();
    await expect(store.update(roomId, participant.peerId, { attributes: { g: '' } })).rejects.toMatchObject({
      message: `a participant's attributes hold at most ${ATTRIBUTE_LIMITS.totalChars} characters`,
    });
    // Too many keys, however small.
    await store.update(roomId, participant.peerId, {
      attributes: Object.fromEntries(Object.keys({ ...exact, ...fill }).map((k) => [k, null])),
    });
    const many = Object.fromEntries(
      Array.from({ length: ATTRIBUTE_LIMITS.keys + 1 }, (_, i) => [`k${i}`, 'v']),
    );
    await expect(store.update(roomId, participant.peerId, { attributes: many })).rejects.toMatchObject({
      message: `a participant has at most ${ATTRIBUTE_LIMITS.keys} attributes`,
    });
    expect((await store.peer(roomId, participant.peerId))!.attributes).toEqual({});
  });

  it('refuses a stored row that does not fit the model instead of reading half of it', async () => {
    const roomId = uniqueRoom('corrupt');
    await redis.hset(
      roomKeys(roomId).peers,
      'p1',
      JSON.stringify({ peerId: 'p1', displayName: 'x', role: 'admin' }),
    );
    await expect(store.peer(roomId, 'p1')).rejects.toThrow();
    await expect(store.addPeer(roomId, { ...randomParticipant(3), role: 'root' as never })).rejects.toThrow();
  });

  it('keeps an identity one participant: a newer connection replaces the older', async () => {
    const roomId = uniqueRoom('identity');
    const older = randomParticipant(11);
    await add(roomId, older);
    const newer = { ...randomParticipant(12), sub: older.sub };
    expect(await store.claimIdentity(roomId, newer.sub, newer.peerId)).toBe(older.peerId);
    expect(await store.peer(roomId, older.peerId)).toBeUndefined();
    // The older connection's late add is refused: it is no longer its identity's connection.
    expect(await store.addPeer(roomId, older)).toBe(false);
    expect(await store.addPeer(roomId, newer)).toBe(true);
    expect((await store.peers(roomId)).map((p) => p.peerId)).toEqual([newer.peerId]);
  });
});
