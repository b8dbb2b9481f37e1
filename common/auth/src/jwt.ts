/** The one HS256 check behind every token the platform verifies (join, access, service). */
import { errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { UnauthenticatedError } from '@switchboard/errors';

/**
 * Verifies an HS256 JWT (signature, `exp`, and whatever `options` require); rejects with
 * UNAUTHENTICATED saying only "expired" or "invalid" about the `what` it names.
 */
export async function verifyHs256(
  token: string,
  key: Uint8Array,
  options: Omit<JWTVerifyOptions, 'algorithms'>,
  what: string,
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, key, { ...options, algorithms: ['HS256'] });
    return payload;
  } catch (error) {
    if (error instanceof errors.JWTExpired) {
      throw new UnauthenticatedError(`${what} expired`);
    }
    throw new UnauthenticatedError(`${what} is invalid`);
  }
}
