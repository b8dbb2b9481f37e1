/**
 * Participants a host removed from a room, kept in Redis (`sb:room:<id>:removed`) for a day. A
 * removal follows the identity, not the token: the removed join token (by `jti`) stops working at
 * once, an account (by subject) gets no new token for that room, and the address the participant
 * was connected from is banned for guests, so a removed guest cannot take a fresh guest token and
 * walk back in, nor a removed account return as a guest. (A guest sharing that address, behind the
 * same NAT, is refused too until the ban ends or they sign in.) Written by signaling, read by
 * signaling's handshake and the gateway's token and chat routes.
 */

/** The few Redis commands used (ioredis's signatures), so this module needs no Redis client. */
export interface RemovalStore {
  sadd(key: string, ...members: string[]): Promise<number>;
  smismember(key: string, ...members: string[]): Promise<number[]>;
  pexpire(key: string, ms: number): Promise<number>;
}

/** Who someone is in a room: a join token's subject (and id), and the address they come from. */
export interface Identity {
  sub: string;
  jti?: string;
  address?: string;
}

const removedKey = (roomId: string) => `sb:room:${roomId}:removed`;
const REMEMBER_MS = 24 * 3600 * 1000;

const isGuest = (sub: string) => !sub.startsWith('user:');

/**
 * The keys a ban or a lock on this identity is kept under: an account by its subject; a guest by
 * its subject and its address (a new guest token is a new subject, the address stays).
 */
export function identityKeys(who: Identity): string[] {
  const keys = [`sub:${who.sub}`];
  if (isGuest(who.sub) && who.address) {
    keys.push(`addr:${who.address}`);
  }
  return keys;
}

export async function recordRemoval(
  redis: RemovalStore,
  roomId: string,
  who: Identity & { jti: string },
): Promise<void> {
  const members = [`sub:${who.sub}`, `jti:${who.jti}`];
  if (who.address) {
    // For an account too: it must not come back as a guest from there.
    members.push(`addr:${who.address}`);
  }
  await redis.sadd(removedKey(roomId), ...members);
  await redis.pexpire(removedKey(roomId), REMEMBER_MS);
}

/** True when this token, this account, or (for a guest) this address was removed from the room. */
export async function wasRemoved(redis: RemovalStore, roomId: string, who: Identity): Promise<boolean> {
  const members = [`jti:${who.jti ?? '-'}`, ...identityKeys(who)];
  return (await redis.smismember(removedKey(roomId), ...members)).some((hit) => hit === 1);
}
