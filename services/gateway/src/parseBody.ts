import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { parseOrThrow } from '@switchboard/errors';

/** Validates a JSON body; no body at all counts as `{}`, but a JSON `null` or array is refused. */
export function parseBody<T extends z.ZodType>(schema: T, request: FastifyRequest): z.infer<T> {
  return parseOrThrow(schema, request.body === undefined ? {} : request.body, 'body');
}
