/**
 * Who may be in a room beyond what the join token says, shared by every signaling instance in
 * Redis: the lobby (`sb:room:<id>:lobby`, peerId → the waiting peer with the instance holding its
 * socket and when its wait ends; at most `lobbyMax` per room; `sb:lobbies` lists the rooms with
 * one, for the sweep that takes out expired waiters and those of crashed instances), the identities let in
 * (common/auth's admissions: everyone who joined, and those a host admitted) and the media a host muted without letting its owner unmute
 * (`sb:room:<id>:mute-locks`, `<identity key>|<kind>`: the lock follows the account, or the guest
 * and its address, so reconnecting or taking a new guest token does not lift it), and whether a host lets several people share
 * their screens at once (`sb:room:<id>:screens` = `multiple`).
 *
 * A host may also switch off self-unmute for the room (`sb:room:<id>:self-unmute` = `off`): then
 * no participant but a host may turn a microphone on unless a host asked or allowed them since
 * (`sb:room:<id>:unmute-grants`, `sub:<sub>|<kind>`: the identity only, not its address, so
 * letting one guest unmute does not let every guest behind the same address). Switching it on again
 * forgets the grants, so the next switch-off starts from nobody.
 */
import type { Redis } from 'ioredis';
import { AppError } from '@switchboard/errors';
import { identityKeys, recordAdmission, wasAdmitted, type Identity } from '@switchboard/auth';
import type { MediaKind, PeerInfo } from '@switchboard/protocol';

const lobbyKey = (roomId: string) => `sb:room:${roomId}:lobby`;
const LOBBIES_KEY = 'sb:lobbies';

/** Adds waiter ARGV[1] (JSON ARGV[2]) unless the lobby already holds ARGV[3] others. */
const WAIT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
return 1`;
const muteLocksKey = (roomId: string) => `sb:room:${roomId}:mute-locks`;
const screensKey = (roomId: string) => `sb:room:${roomId}:screens`;
const selfUnmuteKey = (roomId: string) => `sb:room:${roomId}:self-unmute`;
const unmuteGrantsKey = (roomId: string) => `sb:room:${roomId}:unmute-grants`;
/** What the self-unmute switch holds back: microphones (as Zoom's "allow to unmute themselves"). */
const SELF_UNMUTE_KIND: MediaKind = 'audio';
/** Admissions and mute locks outlive a call by this much, then Redis forgets them. */
const REMEMBER_MS = 12 * 3600 * 1000;

const muteLocks = (who: Identity, kind: MediaKind) => identityKeys(who).map((key) => `${key}|${kind}`);
/** A grant is this identity's alone (not its address's: a lock there is strict, a grant is not). */
const unmuteGrant = (who: Identity, kind: MediaKind) => `sub:${who.sub}|${kind}`;

export interface LobbyEntry extends PeerInfo {
  sub: string;
}

/** A lobby entry as stored: who holds the waiter's socket, and when its wait ends (epoch ms). */
interface StoredWaiter extends LobbyEntry {
  instanceId: string;
  expiresAt: number;
}

/** A waiter the sweep took out: its wait ran out (`expired`), or its signaling instance died. */
export interface SweptWaiter {
  roomId: string;
  entry: LobbyEntry;
  why: 'expired' | 'gone';
}

export interface LobbyLimits {
  /** Waiters one room's lobby holds at most. */
  lobbyMax: number;
  /** How long one may wait before being sent away. */
  lobbyWaitMs: number;
}

/** The lobby's default bounds (signaling's SIGNALING_LOBBY_MAX and SIGNALING_LOBBY_WAIT_SECONDS default to them). */
export const DEFAULT_LOBBY_LIMITS: LobbyLimits = { lobbyMax: 50, lobbyWaitMs: 15 * 60 * 1000 };

const asEntry = ({ peerId, displayName, role, sub }: StoredWaiter): LobbyEntry => ({
  peerId,
  displayName,
  role,
  sub,
});

export class RoomAccess {
  readonly #redis: Redis;
  readonly #limits: LobbyLimits;

  /** `limits` bound the lobby for `wait` (signaling's); readers and admitters need none. */
  constructor(redis: Redis, limits: LobbyLimits = DEFAULT_LOBBY_LIMITS) {
    this.#redis = redis;
    this.#limits = limits;
  }

  /**
   * Puts the peer (whose socket `instanceId` holds) in the room's lobby until `expiresAt` (from
   * now on: the lobby's wait); RESOURCE_EXHAUSTED when the lobby is full. Answers when its wait
   * ends (written again after Redis lost it, the same entry keeps that time).
   */
  async wait(
    roomId: string,
    entry: LobbyEntry,
    instanceId: string,
    expiresAt = Date.now() + this.#limits.lobbyWaitMs,
  ): Promise<number> {
    const stored: StoredWaiter = { ...asEntry(entry as StoredWaiter), instanceId, expiresAt };
    const added = await this.#redis.eval(
      WAIT,
      2,
      lobbyKey(roomId),
      LOBBIES_KEY,
      entry.peerId,
      JSON.stringify(stored),
      this.#limits.lobbyMax,
      roomId,
    );
    if (added !== 1) {
      throw new AppError(
        'RESOURCE_EXHAUSTED',
        `the lobby of this meeting is full (${this.#limits.lobbyMax} waiting); try again in a few minutes`,
        { retryAfterSeconds: 60 },
      );
    }
    return expiresAt;
  }

  /**
   * Takes out of every lobby the waiters whose wait ran out and those whose signaling instance is
   * no longer alive (`alive` says which of the instances named still beat); forgets empty lobbies.
   */
  async sweepLobbies(alive: (instanceIds: string[]) => Promise<Set<string>>): Promise<SweptWaiter[]> {
    const swept: SweptWaiter[] = [];
    for (const roomId of await this.#redis.smembers(LOBBIES_KEY)) {
      const waiters = await this.#stored(roomId);
      if (waiters.length === 0) {
        await this.#redis.srem(LOBBIES_KEY, roomId);
        continue;
      }
      const living = await alive([...new Set(waiters.map((w) => w.instanceId))]);
      const now = Date.now();
      for (const waiter of waiters) {
        const why = !living.has(waiter.instanceId) ? 'gone' : waiter.expiresAt <= now ? 'expired' : undefined;
        if (why && (await this.leaveLobby(roomId, waiter.peerId))) {
          swept.push({ roomId, entry: asEntry(waiter), why });
        }
      }
    }
    return swept;
  }

  async #stored(roomId: string): Promise<StoredWaiter[]> {
    return Object.values(await this.#redis.hgetall(lobbyKey(roomId))).map(
      (v) => JSON.parse(v) as StoredWaiter,
    );
  }

  /** Takes the peer out of the lobby; returns its entry when it was waiting. */
  async leaveLobby(roomId: string, peerId: string): Promise<LobbyEntry | undefined> {
    const [[, value], [, removed]] = (await this.#redis
      .multi()
      .hget(lobbyKey(roomId), peerId)
      .hdel(lobbyKey(roomId), peerId)
      .exec()) as [[null, string | null], [null, number]];
    return removed === 1 && value ? asEntry(JSON.parse(value) as StoredWaiter) : undefined;
  }

  /** Who waits in the room's lobby now (an expired wait the sweep has not taken yet is left out). */
  async waiting(roomId: string): Promise<LobbyEntry[]> {
    const now = Date.now();
    return (await this.#stored(roomId)).filter((w) => w.expiresAt > now).map(asEntry);
  }

  /** Records that this identity was let into the call (common/auth's admissions). */
  async admit(roomId: string, sub: string): Promise<void> {
    await recordAdmission(this.#redis, roomId, sub);
  }

  async isAdmitted(roomId: string, sub: string): Promise<boolean> {
    return wasAdmitted(this.#redis, roomId, sub);
  }

  async lockMute(roomId: string, who: Identity, kind: MediaKind): Promise<void> {
    await this.#redis
      .multi()
      .sadd(muteLocksKey(roomId), ...muteLocks(who, kind))
      .pexpire(muteLocksKey(roomId), REMEMBER_MS)
      .exec();
  }

  /** Lifts a host's lock, and lets this identity unmute while self-unmute is switched off. */
  async unlockMute(roomId: string, who: Identity, kind: MediaKind): Promise<void> {
    await this.#redis
      .multi()
      .srem(muteLocksKey(roomId), ...muteLocks(who, kind))
      .sadd(unmuteGrantsKey(roomId), unmuteGrant(who, kind))
      .pexpire(unmuteGrantsKey(roomId), REMEMBER_MS)
      .exec();
  }

  /** Lets participants turn their microphones on themselves (the default), or only hosts. */
  async setSelfUnmute(roomId: string, allowed: boolean): Promise<void> {
    const multi = this.#redis.multi().del(unmuteGrantsKey(roomId));
    if (allowed) {
      multi.del(selfUnmuteKey(roomId));
    } else {
      multi.set(selfUnmuteKey(roomId), 'off', 'PX', REMEMBER_MS);
    }
    await multi.exec();
  }

  async selfUnmuteAllowed(roomId: string): Promise<boolean> {
    return (await this.#redis.get(selfUnmuteKey(roomId))) !== 'off';
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

  /**
   * What holds `who` from turning `kind` on: a host's lock (`locked`), or the room's self-unmute
   * switch with no grant for `who` (`switch`, which does not hold hosts: the caller knows the
   * role); undefined when nothing does. One round trip.
   */
  async unmuteHold(roomId: string, who: Identity, kind: MediaKind): Promise<'locked' | 'switch' | undefined> {
    const [[, locks], [, selfUnmute], [, granted]] = (await this.#redis
      .multi()
      .smismember(muteLocksKey(roomId), ...muteLocks(who, kind))
      .get(selfUnmuteKey(roomId))
      .sismember(unmuteGrantsKey(roomId), unmuteGrant(who, kind))
      .exec()) as [[null, number[]], [null, string | null], [null, number]];
    if (locks.some((hit) => hit === 1)) {
      return 'locked';
    }
    return kind === SELF_UNMUTE_KIND && selfUnmute === 'off' && granted !== 1 ? 'switch' : undefined;
  }
}
