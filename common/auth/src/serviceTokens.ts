/**
 * Service-to-service credentials for the media gRPC API: a caller sends
 * `authorization: Bearer <JWT>` in the call's metadata, an HS256 JWT signed with SERVICE_SECRET
 * (a secret only the services hold: the gateway's JWT_SECRET cannot mint one, and a join or access
 * token is refused for its audience). Claims: `iss` "switchboard-service", `aud`
 * "switchboard-media", `sub` the calling service, `iat`, and `exp` at most an hour after `iat`.
 * Any JWT library makes one, so a client generated from `proto/` alone can call the API.
 */
import { createHmac } from 'node:crypto';
import { UnauthenticatedError } from '@switchboard/errors';
import { verifyHs256 } from './jwt';

export const SERVICE_ISSUER = 'switchboard-service';
export const MEDIA_AUDIENCE = 'switchboard-media';
/** The gRPC metadata key (lower case, as gRPC requires) carrying `Bearer <token>`. */
export const AUTHORIZATION_METADATA = 'authorization';
/** The longest-lived token a media node accepts: a leaked one is useless within the hour. */
export const MAX_SERVICE_TOKEN_SECONDS = 3600;
const TOKEN_SECONDS = 600;
const VERIFIED_CACHE = 256;

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Signs a service token. Synchronous (HMAC from node:crypto) so a client can stamp every call
 * without awaiting; the JWT is the standard compact form any verifier reads.
 */
export function signServiceToken(
  secret: string,
  service: string,
  opts: { ttlSeconds?: number; nowSeconds?: number; audience?: string } = {},
): string {
  const iat = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({
      iss: SERVICE_ISSUER,
      aud: opts.audience ?? MEDIA_AUDIENCE,
      sub: service,
      iat,
      exp: iat + (opts.ttlSeconds ?? TOKEN_SECONDS),
    }),
  );
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** A caller's credentials: one token, re-signed when less than half its life is left. */
export class ServiceCredentials {
  readonly #secret: string;
  readonly #service: string;
  #token = '';
  #renewAt = 0;

  constructor(secret: string, service: string) {
    this.#secret = secret;
    this.#service = service;
  }

  /** The `authorization` metadata value for the next call. */
  authorization(): string {
    const now = Date.now();
    if (now >= this.#renewAt) {
      this.#token = signServiceToken(this.#secret, this.#service);
      this.#renewAt = now + (TOKEN_SECONDS * 1000) / 2;
    }
    return `Bearer ${this.#token}`;
  }
}

/**
 * Checks the `authorization` metadata of a call to the media API; resolves to the calling
 * service's name or rejects with UNAUTHENTICATED saying what was wrong (never why a signature
 * failed beyond "invalid"). Verified tokens are remembered until they expire, so a busy caller
 * costs one map lookup per call.
 */
export class ServiceTokenVerifier {
  readonly #key: Uint8Array;
  readonly #verified = new Map<string, { service: string; expiresAt: number }>();

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  async verify(authorization: unknown): Promise<string> {
    if (typeof authorization !== 'string' || authorization.length === 0) {
      throw new UnauthenticatedError(
        'this API needs service credentials: `authorization: Bearer <service token>` metadata',
      );
    }
    const match = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(authorization);
    if (!match) {
      throw new UnauthenticatedError('authorization metadata must be `Bearer <service token>`');
    }
    const token = match[1]!;
    const known = this.#verified.get(token);
    if (known && known.expiresAt > Date.now()) {
      return known.service;
    }
    this.#verified.delete(token);
    const payload = await verifyHs256(
      token,
      this.#key,
      {
        issuer: SERVICE_ISSUER,
        audience: MEDIA_AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub'],
        // Refuses an `iat` in the future as well as one older than the longest lifetime.
        maxTokenAge: MAX_SERVICE_TOKEN_SECONDS,
        clockTolerance: 30,
      },
      'service token',
    );
    if (payload.exp! - payload.iat! > MAX_SERVICE_TOKEN_SECONDS) {
      throw new UnauthenticatedError(
        `service token lives too long (at most ${MAX_SERVICE_TOKEN_SECONDS} s between iat and exp)`,
      );
    }
    if (this.#verified.size >= VERIFIED_CACHE) {
      this.#verified.delete(this.#verified.keys().next().value!);
    }
    this.#verified.set(token, { service: payload.sub!, expiresAt: payload.exp! * 1000 });
    return payload.sub!;
  }
}
