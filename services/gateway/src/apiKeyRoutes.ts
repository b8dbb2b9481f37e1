/**
 * API keys of the server API, for operators only (signed in, operator): create one (its secret
 * is in this answer only), list them (never a secret), revoke one. The server API itself
 * (RoomService, /api/v1/ and gRPC) is served by signaling, which checks the keys.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_KEY_ID, API_SCOPES, type ApiKeyRecord, type ApiKeyStore } from '@switchboard/db';
import { NotFoundError, parseOrThrow } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import type { Accounts } from './Accounts';
import { requireOperator } from './authRoutes';
import { parseBody } from './parseBody';

const createKeyBody = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(80),
    scopes: z
      .array(z.enum(API_SCOPES, { message: `must be one of ${API_SCOPES.join(', ')}` }))
      .min(1, 'give at least one scope'),
  })
  .strict();
const keyParams = z.object({ id: z.string().regex(API_KEY_ID, 'is not an API key id') });

function keyJson(key: ApiKeyRecord) {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

export function apiKeyRoutes(
  app: FastifyInstance,
  deps: { accounts: Accounts; keys: ApiKeyStore; logger: Logger },
): void {
  app.post('/api/admin/api-keys', async (request, reply) => {
    const user = await requireOperator(deps.accounts, request);
    const body = parseBody(createKeyBody, request);
    const { record, key } = await deps.keys.create({ ...body, createdBy: user.userId });
    deps.logger.info({ apiKey: record.id, scopes: record.scopes, userId: user.userId }, 'API key created');
    return reply.status(201).send({ ...keyJson(record), key });
  });

  app.get('/api/admin/api-keys', async (request) => {
    await requireOperator(deps.accounts, request);
    return { keys: (await deps.keys.list()).map(keyJson) };
  });

  app.delete('/api/admin/api-keys/:id', async (request, reply) => {
    const user = await requireOperator(deps.accounts, request);
    const { id } = parseOrThrow(keyParams, request.params, 'key id');
    if (!(await deps.keys.revoke(id))) {
      throw new NotFoundError(`no live API key ${id}`);
    }
    deps.logger.info({ apiKey: id, userId: user.userId }, 'API key revoked');
    return reply.status(204).send();
  });
}
