/**
 * The account API: register, login, refresh, logout, me, and the operator check NGINX's
 * auth_request asks before serving the log viewer and metrics.
 *
 * Cookies: `sb_refresh` (httpOnly, SameSite=Strict, path /api/auth) holds the refresh token;
 * `sb_at` (httpOnly, SameSite=Lax, path /) the access token, so page navigations (the log viewer)
 * carry it too. Integrators may send the access token as `Authorization: Bearer` instead.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ACCESS_COOKIE, type AccessClaims } from '@switchboard/auth';
import { PermissionDeniedError, UnauthenticatedError } from '@switchboard/errors';
import { displayNameSchema, emailSchema, passwordSchema } from '@switchboard/protocol';
import { parseBody } from './parseBody';
import type { Accounts, SessionTokens } from './Accounts';

export const REFRESH_COOKIE = 'sb_refresh';
const REFRESH_PATH = '/api/auth';

const registerBody = z
  .object({ email: emailSchema, password: passwordSchema, displayName: displayNameSchema })
  .strict();
const loginBody = z
  .object({ email: emailSchema, password: z.string().min(1, 'must not be empty').max(256) })
  .strict();
const operatorSetupBody = z
  .object({
    code: z.string().regex(/^[A-Za-z0-9_-]{10,64}$/, 'must be the setup code the deployment printed'),
  })
  .strict();

/** The signed-in user of a request (bearer header first, then the cookie), if any. */
export async function requestUser(
  accounts: Accounts,
  request: FastifyRequest,
): Promise<AccessClaims | undefined> {
  const header = request.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice(7) : request.cookies[ACCESS_COOKIE];
  return token ? accounts.authenticate(token) : undefined;
}

export async function requireUser(accounts: Accounts, request: FastifyRequest): Promise<AccessClaims> {
  const user = await requestUser(accounts, request);
  if (!user) {
    throw new UnauthenticatedError('sign in first');
  }
  return user;
}

/** The signed-in operator making the request (401 signed out, 403 not an operator). */
export async function requireOperator(accounts: Accounts, request: FastifyRequest): Promise<AccessClaims> {
  const user = await requireUser(accounts, request);
  if (!user.operator) {
    throw new PermissionDeniedError('operators only: this account is not an operator');
  }
  return user;
}

export function authRoutes(app: FastifyInstance, accounts: Accounts): void {
  const secure = (request: FastifyRequest) => request.protocol === 'https';

  const startSession = (request: FastifyRequest, reply: FastifyReply, session: SessionTokens) => {
    reply.setCookie(ACCESS_COOKIE, session.accessToken, {
      httpOnly: true,
      sameSite: 'lax',
      secure: secure(request),
      path: '/',
      expires: session.accessExpiresAt,
    });
    reply.setCookie(REFRESH_COOKIE, session.refreshToken, {
      httpOnly: true,
      sameSite: 'strict',
      secure: secure(request),
      path: REFRESH_PATH,
      expires: session.refreshExpiresAt,
    });
    return {
      user: session.user,
      accessToken: session.accessToken,
      expiresAt: session.accessExpiresAt.toISOString(),
    };
  };

  const endSession = (reply: FastifyReply) => {
    reply.clearCookie(ACCESS_COOKIE, { path: '/' });
    reply.clearCookie(REFRESH_COOKIE, { path: REFRESH_PATH });
  };

  app.post('/api/auth/register', async (request, reply) => {
    const body = parseBody(registerBody, request);
    const session = await accounts.register(body);
    return reply.status(201).send(startSession(request, reply, session));
  });

  app.post('/api/auth/login', async (request, reply) => {
    const body = parseBody(loginBody, request);
    const session = await accounts.login(body, request.ip);
    return reply.send(startSession(request, reply, session));
  });

  app.post('/api/auth/refresh', async (request, reply) => {
    try {
      const session = await accounts.refresh(request.cookies[REFRESH_COOKIE]);
      return reply.send(startSession(request, reply, session));
    } catch (error) {
      endSession(reply);
      throw error;
    }
  });

  app.post('/api/auth/logout', async (request, reply) => {
    const user = await requestUser(accounts, request).catch(() => undefined);
    await accounts.logout(request.cookies[REFRESH_COOKIE], user?.sessionId);
    endSession(reply);
    return reply.status(204).send();
  });

  app.get('/api/me', async (request) => {
    const claims = await requireUser(accounts, request);
    return { user: await accounts.me(claims.userId) };
  });

  // The first operator: a signed-in account presents the one-time setup code.
  app.post('/api/auth/operator-setup', async (request, reply) => {
    const claims = await requireUser(accounts, request);
    const { code } = parseBody(operatorSetupBody, request);
    return reply.send(startSession(request, reply, await accounts.becomeOperator(claims, code)));
  });

  // NGINX auth_request: 204 lets the request through, 401/403 answer it.
  app.get('/api/auth/operator', async (request, reply) => {
    const user = await requestUser(accounts, request);
    if (!user) {
      throw new UnauthenticatedError('operators only: sign in');
    }
    if (!user.operator) {
      throw new PermissionDeniedError('operators only: this account is not an operator');
    }
    return reply.status(204).send();
  });
}
