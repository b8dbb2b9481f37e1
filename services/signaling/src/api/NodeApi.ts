/**
 * What NodeService (switchboard.nodes.v1) does: the media nodes Consul knows with their load and
 * rooms, and draining one. The nodes and their rooms are MediaDirectory's (Consul and the Redis
 * room map); a drain is the media node's own (its Drain RPC); this records who asked for it as
 * the `node.drained` event.
 */
import { z } from 'zod';
import type { EventLog } from '@switchboard/events';
import { NotFoundError, parseOrThrow } from '@switchboard/errors';
import type { nodes } from '@switchboard/proto/api';
import type { MediaDirectory } from '../MediaDirectory';
import type { ApiCaller } from './RoomApi';

export interface NodeApiOptions {
  directory: MediaDirectory;
  events: EventLog;
}

const DEFAULT_DRAIN_SECONDS = 30;
const drainNode = z.object({
  nodeId: z.string().min(1, 'is required').max(200),
  deadlineSeconds: z
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 1 && n <= 3600), 'must be 1-3600 (or 0: 30)'),
});

export class NodeApi {
  readonly #o: NodeApiOptions;

  constructor(options: NodeApiOptions) {
    this.#o = options;
  }

  async listNodes(): Promise<nodes.ListNodesResponse> {
    return { nodes: await this.#o.directory.nodes() };
  }

  async drainNode(request: nodes.DrainNodeRequest, caller: ApiCaller): Promise<nodes.DrainNodeResponse> {
    const p = parseOrThrow(drainNode, request);
    const client = this.#o.directory.clientById(p.nodeId);
    if (!client) {
      throw new NotFoundError(`no media node ${p.nodeId} is registered and healthy in Consul`);
    }
    const deadlineSeconds = p.deadlineSeconds || DEFAULT_DRAIN_SECONDS;
    const { rooms } = await client.call(
      'drain',
      { deadlineSeconds },
      { correlationId: caller.correlationId },
    );
    this.#o.events.append({
      type: 'node.drained',
      data: { node: p.nodeId, by: caller.who, deadlineSeconds, rooms },
    });
    caller.logger.warn(
      { mediaNode: p.nodeId, deadlineSeconds, rooms, caller: caller.who },
      'media node drain requested through the API',
    );
    return { rooms };
  }
}
