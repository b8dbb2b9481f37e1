/**
 * Join tokens: short-lived HS256 JWTs the gateway signs for one display name in one room, and
 * signaling verifies on the socket handshake. Both read the same JWT_SECRET.
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '@switchboard/errors';
import { displayNameSchema, roomNameSchema, type JoinTokenClaims } from '@switchboard/protocol';

const ISSUER = 'switchboard-gateway';
const AUDIENCE = 'switchboard-signaling';

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function signJoinToken(
  claims: JoinTokenClaims,
  secret: string,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: Date }> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ room: claims.room, name: claims.name })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(key(secret));
  return { token, expiresAt: new Date((now + ttlSeconds) * 1000) };
}

/** Verifies signature, issuer, audience and expiry; throws UnauthenticatedError saying why. */
export async function verifyJoinToken(token: unknown, secret: string): Promise<JoinTokenClaims> {
  if (typeof token !== 'string' || token.length === 0) {
    throw new UnauthenticatedError('a join token is required (handshake auth.token)');
  }
  try {
    const { payload } = await jwtVerify(token, key(secret), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
    });
    const room = roomNameSchema.safeParse(payload.room);
    const name = displayNameSchema.safeParse(payload.name);
    if (!room.success || !name.success) {
      throw new UnauthenticatedError('join token has no valid room or name');
    }
    return { room: room.data, name: name.data };
  } catch (error) {
    if (error instanceof UnauthenticatedError) {
      throw error;
    }
    if (error instanceof errors.JWTExpired) {
      throw new UnauthenticatedError('join token expired; ask the gateway for a new one');
    }
    throw new UnauthenticatedError('join token is invalid');
  }
}
