/**
 * Who was let into a room's call, by join token subject (`sb:room:<id>:admitted`, kept 12 hours
 * after the last admission): everyone who joined it, and lobby waiters a host admitted. Written by
 * signaling (a reconnect with the same token need not wait in the lobby again), read by it and by
 * the gateway's chat routes (a guest's join token reads the chat only once its holder was let in).
 */

/** The few Redis commands used (ioredis's signatures). */
export interface AdmissionStore {
  sadd(key: string, ...members: string[]): Promise<number>;
  sismember(key: string, member: string): Promise<number>;
  pexpire(key: string, ms: number): Promise<number>;
}

const admittedKey = (roomId: string) => `sb:room:${roomId}:admitted`;
const REMEMBER_MS = 12 * 3600 * 1000;

export async function recordAdmission(redis: AdmissionStore, roomId: string, sub: string): Promise<void> {
  await redis.sadd(admittedKey(roomId), sub);
  await redis.pexpire(admittedKey(roomId), REMEMBER_MS);
}

export async function wasAdmitted(redis: AdmissionStore, roomId: string, sub: string): Promise<boolean> {
  return (await redis.sismember(admittedKey(roomId), sub)) === 1;
}
