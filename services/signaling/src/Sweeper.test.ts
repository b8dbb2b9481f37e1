/**
 * The sweeper against a real (private) Redis: what a crashed instance left behind is swept within
 * a few beats, whether it registered with the instance set or not (an instance of the previous
 * version), the crashed instance is then forgotten, and while every instance beats the sweeper
 * does not go through the rooms on each beat.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Logger } from '@switchboard/logger';
import { RoomAccess } from '@switchboard/rooms';
import { startPrivateRedis, waitFor, type PrivateServer } from '@switchboard/testing';
import { Presence } from './Presence';
import { Sweeper } from './Sweeper';

const INSTANCES_KEY = 'sb:signaling:instances';
const HEARTBEAT_MS = 100;

describe('Sweeper (private Redis)', () => {
  let server: PrivateServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startPrivateRedis({ persistent: false });
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.close();
  });

  /** A participant whose socket is on `instanceId`, as a join records it. */
  const add = async (presence: Presence, roomId: string, peerId: string, instanceId: string) => {
    const sub = `guest:${randomUUID()}`;
    await presence.claimIdentity(roomId, sub, peerId);
    const participant = {
      peerId,
      displayName: peerId,
      role: 'guest' as const,
      sub,
      instanceId,
      jti: randomUUID(),
    };
    expect(await presence.addPeer(roomId, participant, false)).toBe(true);
  };

  /** An instance that beat once and then stopped (crashed). */
  const crashed = async (presence: Presence, instanceId: string) => {
    await presence.heartbeat(instanceId, 50);
    await new Promise((resolve) => setTimeout(resolve, 80));
  };

  it('sweeps what crashed instances left, forgets them, and leaves rooms alone while all beat', async () => {
    const presence = new Presence(redis);
    const sweeps = vi.spyOn(presence, 'sweep');
    // 200 rooms of a living instance, one with a peer of an instance that crashed after
    // registering, one with a peer of an instance that never registered (the previous version).
    await presence.heartbeat('live', 10_000);
    for (let i = 0; i < 200; i++) {
      await add(presence, `room-${i}`, `peer-${i}`, 'live');
    }
    await add(presence, 'room-0', 'ghost-new', 'crashed-new');
    await add(presence, 'room-1', 'ghost-old', 'crashed-old');
    await crashed(presence, 'crashed-new');
    expect(await presence.deadInstances()).toEqual(['crashed-new']);

    const ghosts: string[] = [];
    const warn = vi.fn();
    const sweeper = await Sweeper.start({
      presence,
      instanceId: 'live',
      heartbeatMs: HEARTBEAT_MS,
      logger: { warn } as unknown as Logger,
      onGhost: async (roomId, peerId) => {
        ghosts.push(peerId);
        await presence.removePeer(roomId, peerId, 'crashed');
      },
      onAbandoned: async () => {},
      lobbies: new RoomAccess(redis),
      onWaiterSwept: () => {},
      onForgotten: async () => {},
    });
    try {
      await waitFor(
        async () => ghosts.length === 2 && (await redis.sismember(INSTANCES_KEY, 'crashed-new')) === 0,
        {
          timeoutMs: 5_000,
          what: 'both ghosts swept and the crashed instance forgotten',
        },
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}: ghosts ${ghosts.join()}, warnings ${JSON.stringify(warn.mock.calls)}`,
        );
      });
      expect(ghosts.sort()).toEqual(['ghost-new', 'ghost-old']);
      expect(await presence.count('room-0')).toBe(1);
      expect(await presence.deadInstances()).toEqual([]);

      // Ten beats with everyone alive: no pass over the rooms.
      const before = sweeps.mock.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 10 * HEARTBEAT_MS));
      expect(sweeps.mock.calls.length).toBe(before);

      // Another crash is found at once.
      await add(presence, 'room-7', 'ghost-later', 'crashed-later');
      await crashed(presence, 'crashed-later');
      await waitFor(async () => ghosts.includes('ghost-later'), { timeoutMs: 5_000, what: 'ghost swept' });
      expect(sweeps.mock.calls.length).toBeGreaterThan(before);
    } finally {
      await sweeper.close();
    }
    // A clean shutdown takes the instance out of the set: it is not left for a sweep.
    expect(await redis.sismember(INSTANCES_KEY, 'live')).toBe(0);
  });
});
