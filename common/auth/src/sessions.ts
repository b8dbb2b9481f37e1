/**
 * Signed-in sessions across services: the access token a browser holds (the `sb_at` cookie, or
 * `Authorization: Bearer`) and the revocation marks that end a session before its access token
 * expires (`sb:session:<id>:revoked`). The gateway writes the marks (logout, refresh-token reuse,
 * becoming operator); the gateway and signaling's server API both check them here.
 */
import { UnauthenticatedError } from '@switchboard/errors';
import { verifyAccessToken, type AccessClaims } from './index';

/** The access token's cookie (httpOnly, SameSite=Lax, path /). */
export const ACCESS_COOKIE = 'sb_at';

/** The few Redis commands used (ioredis's signatures). */
export interface SessionStore {
  exists(key: string): Promise<number>;
  set(key: string, value: string, mode: 'EX', seconds: number): Promise<unknown>;
}

const revokedKey = (sessionId: string) => `sb:session:${sessionId}:revoked`;

/** Access tokens of `sessionId` stop working now, not when they expire (`ttlSeconds` from now). */
export async function revokeSession(
  redis: SessionStore,
  sessionId: string,
  ttlSeconds: number,
): Promise<void> {
  await redis.set(revokedKey(sessionId), '1', 'EX', ttlSeconds);
}

/** The claims of a valid access token whose session was not revoked. */
export async function authenticateSession(
  redis: SessionStore,
  accessToken: string,
  secret: string,
): Promise<AccessClaims> {
  const claims = await verifyAccessToken(accessToken, secret);
  if (await redis.exists(revokedKey(claims.sessionId))) {
    throw new UnauthenticatedError('this session has ended; sign in again');
  }
  return claims;
}
