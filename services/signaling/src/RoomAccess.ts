/**
 * Who may be in a room beyond what the join token says, shared by every signaling instance in
 * Redis: the lobby (`sb:room:<id>:lobby`, peerId → the waiting peer), the identities a host
 * admitted (`sb:room:<id>:admitted`, by token subject, so a reconnect with the same token need not
 * wait again) and the media a host muted without letting its owner unmute
 * (`sb:room:<id>:mute-locks`, `<peerId>:<kind>`), and whether a host lets several people share
 * their screens at once (`sb:room:<id>:screens` = `multiple`).
 */
import type { Redis } from 'ioredis';
import type { MediaKind, PeerInfo } from '@switchboard/protocol';

const lobbyKey = (roomId: string) => `sb:room:${roomId}:lobby`;
const admittedKey = (roomId: string) => `sb:room:${roomId}:admitted`;
const muteLocksKey = (roomId: string) => `sb:room:${roomId}:mute-locks`;
const screensKey = (roomId: string) => `sb:room:${roomId}:screens`;
/** Admissions and mute locks outlive a call by this much, then Redis forgets them. */
const REMEMBER_MS = 12 * 3600 * 1000;

export interface LobbyEntry extends PeerInfo {
  sub: string;
}

export class RoomAccess {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async wait(roomId: string, entry: LobbyEntry): Promise<void> {
    await this.#redis.hset(lobbyKey(roomId), entry.peerId, JSON.stringify(entry));
  }

  /** Takes the peer out of the lobby; returns its entry when it was waiting. */
  async leaveLobby(roomId: string, peerId: string): Promise<LobbyEntry | undefined> {
    const [[, value], [, removed]] = (await this.#redis
      .multi()
      .hget(lobbyKey(roomId), peerId)
      .hdel(lobbyKey(roomId), peerId)
      .exec()) as [[null, string | null], [null, number]];
    return removed === 1 && value ? (JSON.parse(value) as LobbyEntry) : undefined;
  }

  async waiting(roomId: string): Promise<LobbyEntry[]> {
    return Object.values(await this.#redis.hgetall(lobbyKey(roomId))).map((v) => JSON.parse(v) as LobbyEntry);
  }

  async admit(roomId: string, sub: string): Promise<void> {
    await this.#redis.multi().sadd(admittedKey(roomId), sub).pexpire(admittedKey(roomId), REMEMBER_MS).exec();
  }

  async isAdmitted(roomId: string, sub: string): Promise<boolean> {
    return (await this.#redis.sismember(admittedKey(roomId), sub)) === 1;
  }

  async lockMute(roomId: string, peerId: string, kind: MediaKind): Promise<void> {
    await this.#redis
      .multi()
      .sadd(muteLocksKey(roomId), `${peerId}:${kind}`)
      .pexpire(muteLocksKey(roomId), REMEMBER_MS)
      .exec();
  }

  async unlockMute(roomId: string, peerId: string, kind: MediaKind): Promise<void> {
    await this.#redis.srem(muteLocksKey(roomId), `${peerId}:${kind}`);
  }

  async setMultipleScreenShares(roomId: string, multiple: boolean): Promise<void> {
    if (multiple) {
      await this.#redis.set(screensKey(roomId), 'multiple', 'PX', REMEMBER_MS);
    } else {
      await this.#redis.del(screensKey(roomId));
    }
  }

  async multipleScreenShares(roomId: string): Promise<boolean> {
    return (await this.#redis.get(screensKey(roomId))) === 'multiple';
  }

  async isMuteLocked(roomId: string, peerId: string, kind: MediaKind): Promise<boolean> {
    return (await this.#redis.sismember(muteLocksKey(roomId), `${peerId}:${kind}`)) === 1;
  }
}
