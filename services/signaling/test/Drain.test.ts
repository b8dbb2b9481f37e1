/**
 * Draining a media node (two real nodes, a real Consul): the Drain RPC stops new rooms and new
 * participants from going there at once while its calls go on (a newcomer to one of them lands on
 * the other node, the room spanning both); at the deadline its rooms end, their participants there
 * are told to rejoin and land on the other node, while the newcomer stays in the call; the drained
 * node deregisters from Consul once empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRoom, uniqueRoom, waitFor } from '@switchboard/testing';
import { roomMediaKey } from '../src/MediaDirectory';
import { joined, next, TestClients, type Client } from './clients';
import { startHarness, type Harness } from './harness';

const SECRET = 'drain-test-secret-0123456789';

describe('draining a media node', () => {
  let h: Harness;
  const clients = new TestClients(SECRET);

  beforeAll(async () => {
    h = await startHarness({ secret: SECRET, mediaNodes: 2 });
  });

  afterAll(async () => {
    clients.closeAll();
    await h?.close();
  });

  const peer = async (room: string, name: string): Promise<Client> => {
    await ensureRoom(h.pool, room);
    const client = await clients.connect(h.signaling[0].port, await clients.token(room, name));
    await joined(client);
    return client;
  };

  it('takes no new rooms, lets its calls go on until the deadline, then moves them and deregisters', async () => {
    const room = uniqueRoom('drain');
    const ada = await peer(room, 'Ada');
    const grace = await peer(room, 'Grace');
    const drainedId = (await h.redis.get(roomMediaKey(room)))!;
    const drained = h.media.find((m) => m.consulId === drainedId)!;
    const other = h.media.find((m) => m !== drained)!;

    const answer = await h.drain(drainedId, 2);
    expect(answer).toEqual({ rooms: 1 });
    expect(drained.load().accepting).toBe(false);

    // A new room goes elsewhere; a newcomer to the running call joins it on the other node.
    const elsewhere = uniqueRoom('drain-new');
    await peer(elsewhere, 'Elsewhere');
    expect(await h.redis.get(roomMediaKey(elsewhere))).toBe(other.consulId);
    const ended = [ada, grace].map((c) => next(c, 'callEnded'));
    const linus = await peer(room, 'Linus');
    const linusEnded: unknown[] = [];
    linus.on('callEnded', (notice) => linusEnded.push(notice));
    expect(await h.redis.get(roomMediaKey(room))).toBe(drainedId);
    expect(drained.roomCount).toBe(1);
    expect(other.roomIds).toContain(room);

    // The deadline passes: everyone on the drained node is told to rejoin (not that it is over).
    for (const notice of await Promise.all(ended)) {
      expect(notice.final).toBeFalsy();
    }
    await waitFor(async () => !(await h.consul.client.instances('media')).some((i) => i.id === drainedId), {
      timeoutMs: 10_000,
      what: 'the drained node deregistered',
    });
    expect(drained.roomCount).toBe(0);
    // The room's home moved to the other node, where Linus goes on; rejoining lands there.
    expect(await h.redis.get(roomMediaKey(room))).toBe(other.consulId);
    expect(linusEnded).toEqual([]);
    expect(linus.connected).toBe(true);
    await peer(room, 'Ada again');
    expect(await h.redis.get(roomMediaKey(room))).toBe(other.consulId);
  });
});
