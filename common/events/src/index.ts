/**
 * Lifecycle events on a durable stream (Redis Streams): the schema, the writer each state owner
 * appends through, and a consumer-group reader for the services that act on them.
 */
export * from './schema';
export * from './EventLog';
export * from './EventConsumer';
export * from './webhooks';
