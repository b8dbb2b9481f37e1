/**
 * Webhook endpoints, for operators only: register one (URL, the event types it wants; its
 * signing secret is in this answer only), list them, see an endpoint's delivery log (status,
 * attempts, last error), remove one. The events service delivers. An endpoint whose address is
 * this host or an internal network (loopback, private, link-local, ...) is refused unless the
 * operator sets `allowInternal`; the events service checks the address again on every delivery.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { WebhookDelivery, WebhookEndpoint, WebhookStore } from '@switchboard/db';
import { InvalidArgumentError, NotFoundError, parseOrThrow } from '@switchboard/errors';
import { EVENT_TYPES, newWebhookSecret } from '@switchboard/events';
import type { Logger } from '@switchboard/logger';
import { internalAddressOf } from '@switchboard/runtime';
import type { Accounts } from './Accounts';
import { requireOperator } from './authRoutes';
import { parseBody } from './parseBody';

const createBody = z
  .object({
    url: z
      .string()
      .max(2000)
      .superRefine((value, ctx) => {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
          return;
        }
        if (!/^https?:$/.test(url.protocol)) {
          ctx.addIssue({ code: 'custom', message: 'must be http:// or https://' });
        } else if (url.username || url.password) {
          ctx.addIssue({ code: 'custom', message: 'must not carry a user or password' });
        }
      }),
    events: z
      .array(z.enum(['*', ...EVENT_TYPES], { message: `must be * or one of ${EVENT_TYPES.join(', ')}` }))
      .min(1, 'give at least one event type, or *'),
    allowInternal: z.boolean().default(false),
    description: z.string().trim().max(200).default(''),
  })
  .strict();
const idParams = z.object({ id: z.uuid('is not a webhook id') });
const logQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

function endpointJson(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    allowInternal: endpoint.allowInternal,
    description: endpoint.description,
    createdAt: endpoint.createdAt.toISOString(),
  };
}

function deliveryJson(delivery: WebhookDelivery) {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    roomId: delivery.roomId,
    status: delivery.status,
    attempts: delivery.attempts,
    lastError: delivery.lastError,
    lastStatusCode: delivery.lastStatusCode,
    createdAt: delivery.createdAt.toISOString(),
    nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
  };
}

export function webhookRoutes(
  app: FastifyInstance,
  deps: { accounts: Accounts; webhooks: WebhookStore; logger: Logger },
): void {
  app.post('/api/admin/webhooks', async (request, reply) => {
    const user = await requireOperator(deps.accounts, request);
    const body = parseBody(createBody, request);
    if (!body.allowInternal) {
      const { hostname } = new URL(body.url);
      let inside: string | undefined;
      try {
        inside = await internalAddressOf(hostname);
      } catch {
        throw new InvalidArgumentError(`invalid body: url: ${hostname} does not resolve`);
      }
      if (inside) {
        throw new InvalidArgumentError(
          `invalid body: url: ${hostname} is ${inside}, an internal address (this host or a private network); set allowInternal to send there on purpose`,
        );
      }
    }
    const endpoint = await deps.webhooks.createEndpoint({
      ...body,
      secret: newWebhookSecret(),
      createdBy: user.userId,
    });
    deps.logger.info(
      {
        webhook: endpoint.id,
        url: endpoint.url,
        events: endpoint.events,
        allowInternal: endpoint.allowInternal,
        userId: user.userId,
      },
      'webhook endpoint registered',
    );
    return reply.status(201).send({ ...endpointJson(endpoint), secret: endpoint.secret });
  });

  app.get('/api/admin/webhooks', async (request) => {
    await requireOperator(deps.accounts, request);
    return { webhooks: (await deps.webhooks.endpoints()).map(endpointJson) };
  });

  app.get('/api/admin/webhooks/:id/deliveries', async (request) => {
    await requireOperator(deps.accounts, request);
    const { id } = parseOrThrow(idParams, request.params, 'webhook id');
    const { limit } = parseOrThrow(logQuery, request.query, 'query');
    if (!(await deps.webhooks.endpoint(id))) {
      throw new NotFoundError(`no webhook ${id}`);
    }
    return { deliveries: (await deps.webhooks.deliveries(id, limit)).map(deliveryJson) };
  });

  app.delete('/api/admin/webhooks/:id', async (request, reply) => {
    const user = await requireOperator(deps.accounts, request);
    const { id } = parseOrThrow(idParams, request.params, 'webhook id');
    if (!(await deps.webhooks.deleteEndpoint(id))) {
      throw new NotFoundError(`no webhook ${id}`);
    }
    deps.logger.info({ webhook: id, userId: user.userId }, 'webhook endpoint removed');
    return reply.status(204).send();
  });
}
