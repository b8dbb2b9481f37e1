/**
 * Who is in a room and what they send, across every signaling instance: Redis hashes
 * `sb:room:<id>:peers` (peerId → PeerInfo + the signaling instance holding its socket) and
 * `sb:room:<id>:producers` (producerId → ProducerInfo), the set `sb:rooms` of rooms with peers, and
 * one `sb:signaling:<instance>:alive` key per instance that its heartbeat keeps from expiring. A
 * peer whose instance stopped beating (crashed) is a ghost, for `ghosts()` to find.
 */
import type { Redis } from 'ioredis';
import type { PeerInfo, ProducerInfo } from '@switchboard/protocol';

const peersKey = (roomId: string) => `sb:room:${roomId}:peers`;
const producersKey = (roomId: string) => `sb:room:${roomId}:producers`;
const ROOMS_KEY = 'sb:rooms';
const aliveKey = (instanceId: string) => `sb:signaling:${instanceId}:alive`;
const SWEEPER_KEY = 'sb:signaling:sweeper';

interface StoredPeer extends PeerInfo {
  instanceId: string;
}

export class Presence {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async addPeer(roomId: string, peer: PeerInfo, instanceId: string): Promise<void> {
    const stored: StoredPeer = { ...peer, instanceId };
    await this.#redis
      .multi()
      .hset(peersKey(roomId), peer.peerId, JSON.stringify(stored))
      .sadd(ROOMS_KEY, roomId)
      .exec();
  }

  /** Marks this instance alive for `ttlMs`; call more often than that. */
  async heartbeat(instanceId: string, ttlMs: number): Promise<void> {
    await this.#redis.set(aliveKey(instanceId), '1', 'PX', ttlMs);
  }

  async forgetInstance(instanceId: string): Promise<void> {
    await this.#redis.del(aliveKey(instanceId));
  }

  /** One instance at a time sweeps ghosts: true when this one holds the turn for `ttlMs`. */
  async takeSweeperTurn(instanceId: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(SWEEPER_KEY, instanceId, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Peers whose signaling instance is no longer alive; forgets rooms left without peers. */
  async ghosts(): Promise<{ roomId: string; peerId: string }[]> {
    const found: { roomId: string; peerId: string }[] = [];
    for (const roomId of await this.#redis.smembers(ROOMS_KEY)) {
      const peers = Object.values(await this.#redis.hgetall(peersKey(roomId))).map(
        (v) => JSON.parse(v) as StoredPeer,
      );
      if (peers.length === 0) {
        await this.#redis.srem(ROOMS_KEY, roomId);
        continue;
      }
      const instances = [...new Set(peers.map((p) => p.instanceId))];
      const alive = await this.#redis.mget(...instances.map(aliveKey));
      const dead = new Set(instances.filter((_, i) => alive[i] === null));
      for (const peer of peers) {
        if (dead.has(peer.instanceId)) {
          found.push({ roomId, peerId: peer.peerId });
        }
      }
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

  /** Peers in the room on every instance. */
  async count(roomId: string): Promise<number> {
    return this.#redis.hlen(peersKey(roomId));
  }

  async peers(roomId: string): Promise<PeerInfo[]> {
    return Object.values(await this.#redis.hgetall(peersKey(roomId))).map((v) => {
      const { peerId, displayName } = JSON.parse(v) as StoredPeer;
      return { peerId, displayName };
    });
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
