/**
 * Who is in a room and what they send, across every signaling instance: Redis hashes
 * `sb:room:<id>:peers` (peerId → PeerInfo + the signaling instance holding its socket),
 * `sb:room:<id>:identities` (a join token's subject → the one connection that is that participant:
 * an identity is one participant, its newest connection replaces the others) and
 * `sb:room:<id>:producers` (producerId → ProducerInfo), the set `sb:rooms` of rooms with peers, and
 * `sb:room:<id>:sessions` (the instances that have the room open), and one
 * `sb:signaling:<instance>:alive` key per instance that its heartbeat keeps from expiring. What an
 * instance that stopped beating (crashed) left behind is for `sweep()` to find.
 */
import type { Redis } from 'ioredis';
import type { PeerInfo, PresenceState, ProducerInfo } from '@switchboard/protocol';

const peersKey = (roomId: string) => `sb:room:${roomId}:peers`;
const producersKey = (roomId: string) => `sb:room:${roomId}:producers`;
const identitiesKey = (roomId: string) => `sb:room:${roomId}:identities`;
/** An identity's claim outlives any join token; the next connection replaces a stale one. */
const IDENTITY_TTL_MS = 24 * 3600 * 1000;

/**
 * Makes ARGV[2] the connection of identity ARGV[1]; answers the one it replaced, which stops
 * being a participant at once (its socket's departure does the rest).
 */
const CLAIM_IDENTITY = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if previous and previous ~= ARGV[2] then redis.call('HDEL', KEYS[2], previous) end
return previous`;
/** Forgets identity ARGV[1]'s connection if it is still ARGV[2]. */
const RELEASE_IDENTITY = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;
/** Adds peer ARGV[2] (JSON ARGV[3]) only while it is the connection of its identity ARGV[1]. */
const ADD_PEER = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return 1`;
const ROOMS_KEY = 'sb:rooms';
const sessionsKey = (roomId: string) => `sb:room:${roomId}:sessions`;
const aliveKey = (instanceId: string) => `sb:signaling:${instanceId}:alive`;
const SWEEPER_KEY = 'sb:signaling:sweeper';

/** A peer as presence keeps it: what everyone sees, plus what host controls need. */
export interface StoredPeer extends PeerInfo {
  instanceId: string;
  /** The join token's subject and id (a removal bans both). */
  sub: string;
  /** The client's address (a removed guest's address is banned with it). */
  address?: string;
  presence?: PresenceState;
  jti: string;
  /** The media node its media is on (the Consul id; producers are piped from there). */
  mediaNode?: string;
}

export class Presence {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /**
   * Makes `peerId` the one connection of identity `sub` (a join token's subject) in the room;
   * answers the connection it replaces (to be closed), if another held it.
   */
  async claimIdentity(roomId: string, sub: string, peerId: string): Promise<string | undefined> {
    const previous = (await this.#redis.eval(
      CLAIM_IDENTITY,
      2,
      identitiesKey(roomId),
      peersKey(roomId),
      sub,
      peerId,
      IDENTITY_TTL_MS,
    )) as string | null;
    return previous && previous !== peerId ? previous : undefined;
  }

  /** The identity's connection leaves (a newer one that replaced it keeps its claim). */
  async releaseIdentity(roomId: string, sub: string, peerId: string): Promise<void> {
    await this.#redis.eval(RELEASE_IDENTITY, 1, identitiesKey(roomId), sub, peerId);
  }

  /**
   * Adds the peer to the room, atomically with the check that it is still its identity's
   * connection: false (nothing added) when a newer connection replaced it, so an identity is
   * never two participants.
   */
  async addPeer(roomId: string, peer: StoredPeer): Promise<boolean> {
    const added = await this.#redis.eval(
      ADD_PEER,
      3,
      identitiesKey(roomId),
      peersKey(roomId),
      ROOMS_KEY,
      peer.sub,
      peer.peerId,
      JSON.stringify(peer),
      roomId,
    );
    return added === 1;
  }

  /**
   * Marks this instance alive for `ttlMs`; call more often than that. False when its mark was
   * gone: the first beat, or Redis lost it (restarted without its data, or this instance missed
   * its beats), and with it, most likely, what this instance had recorded.
   */
  async heartbeat(instanceId: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(aliveKey(instanceId), '1', 'PX', ttlMs, 'GET')) !== null;
  }

  /** Which of these instances still beat. */
  async alive(instanceIds: string[]): Promise<Set<string>> {
    if (instanceIds.length === 0) {
      return new Set();
    }
    const marks = await this.#redis.mget(...instanceIds.map(aliveKey));
    return new Set(instanceIds.filter((_, i) => marks[i] !== null));
  }

  async forgetInstance(instanceId: string): Promise<void> {
    await this.#redis.del(aliveKey(instanceId));
  }

  /** One instance at a time sweeps ghosts: true when this one holds the turn for `ttlMs`. */
  async takeSweeperTurn(instanceId: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(SWEEPER_KEY, instanceId, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /**
   * Finds what crashed instances left behind, room by room: their peers (`ghosts`, still to be
   * removed by the caller) and their open sessions (dropped here). `abandoned` rooms have no live
   * peer and no live session left once the ghosts are gone: their media room can be closed.
   * Rooms with nothing at all are forgotten.
   */
  async sweep(): Promise<{ roomId: string; ghosts: string[]; abandoned: boolean }[]> {
    const found: { roomId: string; ghosts: string[]; abandoned: boolean }[] = [];
    for (const roomId of await this.#redis.smembers(ROOMS_KEY)) {
      const peers = await this.#stored(roomId);
      const sessions = await this.#redis.smembers(sessionsKey(roomId));
      if (peers.length === 0 && sessions.length === 0) {
        await this.#redis.srem(ROOMS_KEY, roomId);
        continue;
      }
      const instances = [...new Set([...peers.map((p) => p.instanceId), ...sessions])];
      const alive = await this.#redis.mget(...instances.map(aliveKey));
      const dead = new Set(instances.filter((_, i) => alive[i] === null));
      if (dead.size === 0) {
        continue;
      }
      const deadSessions = sessions.filter((id) => dead.has(id));
      if (deadSessions.length > 0) {
        await this.#redis.srem(sessionsKey(roomId), ...deadSessions);
      }
      const ghosts = peers.filter((p) => dead.has(p.instanceId)).map((p) => p.peerId);
      const abandoned = peers.length === ghosts.length && sessions.length === deadSessions.length;
      found.push({ roomId, ghosts, abandoned });
    }
    return found;
  }

  /** Removes the peer and its producers; returns the producers it had. */
  async removePeer(roomId: string, peerId: string): Promise<{ producers: ProducerInfo[] }> {
    const producers = (await this.producers(roomId)).filter((p) => p.peerId === peerId);
    const multi = this.#redis.multi().hdel(peersKey(roomId), peerId);
    if (producers.length > 0) {
      multi.hdel(producersKey(roomId), ...producers.map((p) => p.producerId));
    }
    await multi.exec();
    return { producers };
  }

  /** Records that `instanceId` has the room's session open (its peers may be about to join). */
  async openSession(roomId: string, instanceId: string): Promise<void> {
    await this.#redis.multi().sadd(sessionsKey(roomId), instanceId).sadd(ROOMS_KEY, roomId).exec();
  }

  /** Forgets this instance's session; returns how many instances still have one open. */
  async closeSession(roomId: string, instanceId: string): Promise<number> {
    const [, remaining] =
      (await this.#redis.multi().srem(sessionsKey(roomId), instanceId).scard(sessionsKey(roomId)).exec()) ??
      [];
    return Number(remaining?.[1] ?? 0);
  }

  /** Peers in the room on every instance. */
  async count(roomId: string): Promise<number> {
    return this.#redis.hlen(peersKey(roomId));
  }

  async peers(roomId: string): Promise<PeerInfo[]> {
    return (await this.#stored(roomId)).map(({ peerId, displayName, role, sub, presence }) => ({
      peerId,
      displayName,
      role,
      sub,
      presence: presence ?? 'active',
    }));
  }

  /** Each peer's media node, by peer id. */
  async mediaNodes(roomId: string): Promise<Map<string, string | undefined>> {
    return new Map((await this.#stored(roomId)).map((peer) => [peer.peerId, peer.mediaNode]));
  }

  /** The room's peers as stored. */
  async #stored(roomId: string): Promise<StoredPeer[]> {
    return Object.values(await this.#redis.hgetall(peersKey(roomId))).map((v) => JSON.parse(v) as StoredPeer);
  }

  async peer(roomId: string, peerId: string): Promise<StoredPeer | undefined> {
    const value = await this.#redis.hget(peersKey(roomId), peerId);
    return value ? (JSON.parse(value) as StoredPeer) : undefined;
  }

  /** Changes a peer's role (a host promoted it); false when it is no longer in the room. */
  async setRole(roomId: string, peerId: string, role: PeerInfo['role']): Promise<boolean> {
    return this.#update(roomId, peerId, { role });
  }

  /** Records whether the peer is in the call or away; false when it is no longer in the room. */
  async setState(roomId: string, peerId: string, presence: PresenceState): Promise<boolean> {
    return this.#update(roomId, peerId, { presence });
  }

  async #update(roomId: string, peerId: string, changes: Partial<StoredPeer>): Promise<boolean> {
    const peer = await this.peer(roomId, peerId);
    if (!peer) {
      return false;
    }
    await this.#redis.hset(peersKey(roomId), peerId, JSON.stringify({ ...peer, ...changes }));
    return true;
  }

  async addProducer(roomId: string, producer: ProducerInfo): Promise<void> {
    await this.#redis.hset(producersKey(roomId), producer.producerId, JSON.stringify(producer));
  }

  async removeProducer(roomId: string, producerId: string): Promise<void> {
    await this.#redis.hdel(producersKey(roomId), producerId);
  }

  async producer(roomId: string, producerId: string): Promise<ProducerInfo | undefined> {
    const value = await this.#redis.hget(producersKey(roomId), producerId);
    return value ? (JSON.parse(value) as ProducerInfo) : undefined;
  }

  async setProducerPaused(roomId: string, producerId: string, paused: boolean): Promise<void> {
    const producer = await this.producer(roomId, producerId);
    if (producer) {
      await this.addProducer(roomId, { ...producer, paused });
    }
  }

  async producers(roomId: string): Promise<ProducerInfo[]> {
    return Object.values(await this.#redis.hgetall(producersKey(roomId))).map(
      (v) => JSON.parse(v) as ProducerInfo,
    );
  }
}
