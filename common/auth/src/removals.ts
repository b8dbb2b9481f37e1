/**
 * Participants a host removed from a room, kept in Redis (`sb:room:<id>:removed`) for a day: their
 * join token (by `jti`) stops working at once, and an account (by subject) gets no new token for
 * that room. Written by signaling, read by signaling's handshake and the gateway's token route.
 */

/** The few Redis commands used (ioredis's signatures), so this module needs no Redis client. */
export interface RemovalStore {
  sadd(key: string, ...members: string[]): Promise<number>;
  smismember(key: string, ...members: string[]): Promise<number[]>;
  pexpire(key: string, ms: number): Promise<number>;
}

const removedKey = (roomId: string) => `sb:room:${roomId}:removed`;
const REMEMBER_MS = 24 * 3600 * 1000;

export async function recordRemoval(
  redis: RemovalStore,
  roomId: string,
  who: { sub: string; jti: string },
): Promise<void> {
  await redis.sadd(removedKey(roomId), `sub:${who.sub}`, `jti:${who.jti}`);
  await redis.pexpire(removedKey(roomId), REMEMBER_MS);
}

/** True when this token (jti) or, for an account, this subject was removed from the room. */
export async function wasRemoved(
  redis: RemovalStore,
  roomId: string,
  who: { sub: string; jti?: string },
): Promise<boolean> {
  const members = [`jti:${who.jti ?? '-'}`];
  if (who.sub.startsWith('user:')) {
    members.push(`sub:${who.sub}`);
  }
  return (await redis.smismember(removedKey(roomId), ...members)).some((hit) => hit === 1);
}
