/**
 * Who is in a room and what they send (common/rooms' ParticipantStore: the participants,
 * identities and producers every instance shares), plus what only signaling instances keep:
 * `sb:room:<id>:sessions` (the instances that have the room open), one
 * `sb:signaling:<instance>:alive` key per instance that its heartbeat keeps from expiring, and the
 * set of instances that beat (`sb:signaling:instances`), so that finding a crashed one costs one
 * look at each instance, not at each room. What an instance that stopped beating left behind is
 * for `sweep()` to find.
 */
import { ParticipantStore, roomKeys, ROOMS_KEY } from '@switchboard/rooms';

const sessionsKey = (roomId: string) => roomKeys(roomId).sessions;
const aliveKey = (instanceId: string) => `sb:signaling:${instanceId}:alive`;
const SWEEPER_KEY = 'sb:signaling:sweeper';
const INSTANCES_KEY = 'sb:signaling:instances';

export class Presence extends ParticipantStore {
  /**
   * Marks this instance alive for `ttlMs`; call more often than that. False when its mark was
   * gone: the first beat, or Redis lost it (restarted without its data, or this instance missed
   * its beats), and with it, most likely, what this instance had recorded.
   */
  async heartbeat(instanceId: string, ttlMs: number): Promise<boolean> {
    const replies = await this.redis
      .multi()
      .set(aliveKey(instanceId), '1', 'PX', ttlMs, 'GET')
      .sadd(INSTANCES_KEY, instanceId)
      .exec();
    const [error, previous] = replies?.[0] ?? [new Error('heartbeat transaction aborted'), null];
    if (error) {
      throw error;
    }
    return previous !== null;
  }

  /**
   * The instances that beat once and stopped (crashed, or missed their beats): what they left
   * behind is for the sweep. `forgetDead` takes them out once it is swept.
   */
  async deadInstances(): Promise<string[]> {
    const instances = await this.redis.smembers(INSTANCES_KEY);
    const living = await this.alive(instances);
    return instances.filter((id) => !living.has(id));
  }

  async forgetDead(instanceIds: string[]): Promise<void> {
    if (instanceIds.length > 0) {
      await this.redis.srem(INSTANCES_KEY, ...instanceIds);
    }
  }

  /** Which of these instances still beat. */
  async alive(instanceIds: string[]): Promise<Set<string>> {
    if (instanceIds.length === 0) {
      return new Set();
    }
    const marks = await this.redis.mget(...instanceIds.map(aliveKey));
    return new Set(instanceIds.filter((_, i) => marks[i] !== null));
  }

  /** Forgets this instance as it closes (its peers have left by then). */
  async forgetInstance(instanceId: string): Promise<void> {
    await this.redis.multi().del(aliveKey(instanceId)).srem(INSTANCES_KEY, instanceId).exec();
  }

  /** One instance at a time sweeps ghosts: true when this one holds the turn for `ttlMs`. */
  async takeSweeperTurn(instanceId: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(SWEEPER_KEY, instanceId, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /**
   * Finds what crashed instances left behind, room by room: their peers (`ghosts`, still to be
   * removed by the caller) and their open sessions (dropped here). `abandoned` rooms have no live
   * peer and no live session left once the ghosts are gone: their media room can be closed.
   * Rooms with nothing at all are forgotten.
   */
  async sweep(): Promise<{ roomId: string; ghosts: string[]; abandoned: boolean }[]> {
    const found: { roomId: string; ghosts: string[]; abandoned: boolean }[] = [];
    for (const roomId of await this.redis.smembers(ROOMS_KEY)) {
      const peers = await this.stored(roomId);
      const sessions = await this.redis.smembers(sessionsKey(roomId));
      if (peers.length === 0 && sessions.length === 0) {
        await this.redis.srem(ROOMS_KEY, roomId);
        continue;
      }
      const instances = [...new Set([...peers.map((p) => p.instanceId), ...sessions])];
      const alive = await this.redis.mget(...instances.map(aliveKey));
      const dead = new Set(instances.filter((_, i) => alive[i] === null));
      if (dead.size === 0) {
        continue;
      }
      const deadSessions = sessions.filter((id) => dead.has(id));
      if (deadSessions.length > 0) {
        await this.redis.srem(sessionsKey(roomId), ...deadSessions);
      }
      const ghosts = peers.filter((p) => dead.has(p.instanceId)).map((p) => p.peerId);
      const abandoned = peers.length === ghosts.length && sessions.length === deadSessions.length;
      found.push({ roomId, ghosts, abandoned });
    }
    return found;
  }

  /** Records that `instanceId` has the room's session open (its peers may be about to join). */
  async openSession(roomId: string, instanceId: string): Promise<void> {
    await this.redis.multi().sadd(sessionsKey(roomId), instanceId).sadd(ROOMS_KEY, roomId).exec();
  }

  /** Forgets this instance's session; returns how many instances still have one open. */
  async closeSession(roomId: string, instanceId: string): Promise<number> {
    const [, remaining] =
      (await this.redis.multi().srem(sessionsKey(roomId), instanceId).scard(sessionsKey(roomId)).exec()) ??
      [];
    return Number(remaining?.[1] ?? 0);
  }
}
