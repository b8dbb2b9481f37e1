/**
 * Who is in a room and what they send, across every signaling instance: Redis hashes
 * `sb:room:<id>:peers` (peerId → PeerInfo) and `sb:room:<id>:producers` (producerId → ProducerInfo).
 */
import type { Redis } from 'ioredis';
import type { PeerInfo, ProducerInfo } from '@switchboard/protocol';

const peersKey = (roomId: string) => `sb:room:${roomId}:peers`;
const producersKey = (roomId: string) => `sb:room:${roomId}:producers`;

export class Presence {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async addPeer(roomId: string, peer: PeerInfo): Promise<void> {
    await this.#redis.hset(peersKey(roomId), peer.peerId, JSON.stringify(peer));
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
    return Object.values(await this.#redis.hgetall(peersKey(roomId))).map((v) => JSON.parse(v) as PeerInfo);
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
