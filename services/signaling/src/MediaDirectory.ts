/**
 * Which media nodes serve which room. Healthy media nodes come from Consul (a blocking-query
 * watch, never a configured address); the live room → node mapping lives in Redis so every
 * signaling instance sends a room's peers to the same node: the room's home node, where it
 * opens. A room whose nodes are full continues on another node (`placePeer`): the set of the
 * room's nodes is in Redis too, and their routers are joined by pipe transports (RoomSessions).
 */
import type { Redis } from 'ioredis';
import type { ServiceCredentials } from '@switchboard/auth';
import { ServiceWatcher, type ConsulClient, type ServiceInstance } from '@switchboard/consul';
import { AppError, UnavailableError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import type { client as prom } from '@switchboard/metrics';
import { MediaClient } from './MediaClient';

export const roomMediaKey = (roomId: string) => `sb:room:${roomId}:media`;
/** The rooms assigned to a media node (its load, as every signaling instance sees it). */
export const nodeRoomsKey = (nodeId: string) => `sb:media:${nodeId}:rooms`;
/** Every node a room has a router on (its home and those it spilled over to). */
export const roomNodesKey = (roomId: string) => `sb:room:${roomId}:nodes`;

/** Deadline of the GetLoad call made to place a room (a slow node falls back to its Consul meta). */
const LOAD_TIMEOUT_MS = 1000;

/** Deletes the mapping only if it still points at the node we were using. */
const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/**
 * Moves the home from ARGV[1] to ARGV[2] if it is still ARGV[1], in one step; answers the home
 * after. (Deleting, then setting, let another instance handling the same loss read no home in
 * between and take the room for lost: its people were sent away needlessly.)
 */
const SWAP_HOME = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])`;

export interface MediaDirectoryOptions {
  consul: ConsulClient;
  redis: Redis;
  logger: Logger;
  /** Deadline of every media RPC. */
  timeoutMs: number;
  /** The service token every media RPC carries. */
  credentials: ServiceCredentials;
  histogram?: prom.Histogram<'method' | 'code'>;
}

/** What a media node carries (GetLoad's answer, or its Consul meta). */
interface NodeLoad {
  accepting: boolean;
  draining: boolean;
  workers: number;
  rooms: number;
  transports: number;
  producers: number;
  consumers: number;
  maxConsumers: number;
  /** The busiest worker's share of a core. */
  cpu: number;
}

/** A media node, its load and its rooms (what NodeService.ListNodes answers). */
export interface NodeStatus extends NodeLoad {
  id: string;
  address: string;
  /** It answered GetLoad now (else the numbers are its Consul meta's). */
  answered: boolean;
  /** The rooms whose home it is. */
  roomIds: string[];
}

export class MediaDirectory {
  readonly #watcher: ServiceWatcher;
  readonly #redis: Redis;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #credentials: ServiceCredentials;
  readonly #histogram?: prom.Histogram<'method' | 'code'>;
  readonly #clients = new Map<string, MediaClient>();
  #closed = false;

  private constructor(opts: MediaDirectoryOptions) {
    this.#watcher = ServiceWatcher.start(opts.consul, 'media', opts.logger);
    this.#redis = opts.redis;
    this.#logger = opts.logger;
    this.#timeoutMs = opts.timeoutMs;
    this.#credentials = opts.credentials;
    this.#histogram = opts.histogram;
  }

  static async create(opts: MediaDirectoryOptions): Promise<MediaDirectory> {
    const directory = new MediaDirectory(opts);
    await directory.#watcher.ready();
    return directory;
  }

  async #passing(): Promise<readonly ServiceInstance[]> {
    if (this.#watcher.instances.length > 0) {
      return this.#watcher.instances;
    }
    return this.#watcher.refresh();
  }

  #client(instance: ServiceInstance): MediaClient {
    let client = this.#clients.get(instance.id);
    const address = `${instance.address}:${instance.port}`;
    if (client && client.address !== address) {
      client.close();
      client = undefined;
    }
    if (!client) {
      client = new MediaClient({
        instanceId: instance.id,
        address,
        timeoutMs: this.#timeoutMs,
        credentials: this.#credentials,
        histogram: this.#histogram,
      });
      this.#clients.set(instance.id, client);
    }
    return client;
  }

  /** The healthy media nodes in random order (for what every node answers alike). */
  async anyClients(): Promise<MediaClient[]> {
    const nodes = [...(await this.#passing())];
    if (nodes.length === 0) {
      throw new UnavailableError('no healthy media node is registered in Consul');
    }
    return nodes
      .map((node) => ({ node, order: Math.random() }))
      .sort((a, b) => a.order - b.order)
      .map(({ node }) => this.#client(node));
  }

  /** The media node serving `roomId`, assigning a healthy one when the room has none (or a dead one). */
  async clientForRoom(roomId: string): Promise<MediaClient> {
    const nodes = await this.#passing();
    if (nodes.length === 0) {
      throw new UnavailableError('no healthy media node is registered in Consul');
    }
    const key = roomMediaKey(roomId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const mapped = await this.#redis.get(key);
      const current = mapped ? nodes.find((node) => node.id === mapped) : undefined;
      if (current) {
        return this.#client(current);
      }
      // A home that was lost is replaced by another of the room's nodes (its call goes on there,
      // over capacity if need be), else by the node with the most headroom.
      const members = mapped ? new Set(await this.#redis.smembers(roomNodesKey(roomId))) : new Set();
      const survivors = nodes.filter((node) => members.has(node.id));
      const chosen =
        survivors.length > 0 ? await this.#mostHeadroom(survivors, true) : await this.#mostHeadroom(nodes);
      const ok = mapped
        ? (await this.#redis.eval(COMPARE_AND_DELETE, 1, key, mapped)) === 1 &&
          (await this.#redis.set(key, chosen.id, 'NX')) === 'OK'
        : (await this.#redis.set(key, chosen.id, 'NX')) === 'OK';
      if (ok) {
        const load = this.#redis.multi().sadd(nodeRoomsKey(chosen.id), roomId);
        if (mapped) {
          load.srem(nodeRoomsKey(mapped), roomId);
        }
        await load.exec();
        this.#logger.info(
          { roomId, mediaNode: chosen.id, replaced: mapped ?? undefined },
          'room assigned to media node',
        );
        return this.#client(chosen);
      }
    }
    throw new UnavailableError(`could not assign room ${roomId} to a media node`);
  }

  /**
   * The node a new participant of the room goes to: the room's home node while it accepts
   * newcomers, else another of the room's nodes that does, else (the room outgrows its nodes) the
   * passing node with the most headroom, which joins the room's nodes. When no node accepts
   * anyone, the call in progress still takes them: on the room's own node with the most headroom
   * (capacity is a soft limit for calls in progress; new rooms are refused).
   */
  async placePeer(roomId: string, home: MediaClient): Promise<MediaClient> {
    const nodes = await this.#passing();
    const members = new Set(await this.#redis.smembers(roomNodesKey(roomId)));
    members.add(home.instanceId);
    const own = nodes
      .filter((node) => members.has(node.id))
      .sort((a, b) => Number(b.id === home.instanceId) - Number(a.id === home.instanceId));
    for (const node of own) {
      const load = await this.#load(node);
      if (load.answered && load.accepting) {
        return this.#client(node);
      }
    }
    const others = nodes.filter((node) => !members.has(node.id));
    const chosen = await this.#mostHeadroom(others).catch(async (error: unknown) => {
      if (own.length === 0) {
        throw error;
      }
      return this.#mostHeadroom(own, true);
    });
    if (members.has(chosen.id)) {
      return this.#client(chosen);
    }
    await this.#redis.sadd(roomNodesKey(roomId), home.instanceId, chosen.id);
    this.#logger.info(
      { roomId, mediaNode: chosen.id, home: home.instanceId },
      "the room's nodes are full: it continues on another media node",
    );
    return this.#client(chosen);
  }

  /** The passing nodes the room has a router on (its home first). */
  async roomNodes(roomId: string): Promise<MediaClient[]> {
    const [home, members] = await Promise.all([
      this.#redis.get(roomMediaKey(roomId)),
      this.#redis.smembers(roomNodesKey(roomId)),
    ]);
    const ids = [...new Set([...(home ? [home] : []), ...members])];
    return ids.flatMap((id) => this.clientById(id) ?? []);
  }

  /** The client of a passing node, by its Consul id. */
  clientById(nodeId: string): MediaClient | undefined {
    const node = this.#watcher.instances.find((n) => n.id === nodeId);
    return node ? this.#client(node) : undefined;
  }

  /**
   * The room's home node was lost: another of its nodes (`survivors`) becomes home, unless another
   * signaling instance chose one first. Returns the home now, or undefined when none is left.
   */
  async rehome(
    roomId: string,
    lostId: string,
    survivors: readonly MediaClient[],
  ): Promise<MediaClient | undefined> {
    const key = roomMediaKey(roomId);
    await this.leaveNode(roomId, lostId);
    const home =
      survivors.length > 0
        ? ((await this.#redis.eval(SWAP_HOME, 1, key, lostId, survivors[0].instanceId)) as string | null)
        : await this.#redis.get(key);
    const client = home ? this.clientById(home) : undefined;
    if (client) {
      await this.#redis.sadd(nodeRoomsKey(client.instanceId), roomId);
      this.#logger.warn(
        { roomId, lost: lostId, home: client.instanceId },
        "the room's home media node changed",
      );
    }
    return client;
  }

  /** The room no longer has a router on `nodeId` (that node was lost or its part closed). */
  async leaveNode(roomId: string, nodeId: string): Promise<void> {
    await this.#redis.multi().srem(roomNodesKey(roomId), nodeId).srem(nodeRoomsKey(nodeId), roomId).exec();
  }

  /**
   * The passing node with the most headroom (consumers it may still take) among those accepting
   * new rooms, as each says over gRPC (GetLoad, short deadline). A node that does not answer is
   * skipped (Consul may not have noticed yet that it died); the Consul meta is used only when no
   * node answered and some were merely slow. Ties go to the node with fewer rooms, then at random
   * (so instances spread out). UNAVAILABLE when every node is full, draining or gone, unless
   * `overcommit` (someone joining a call in progress): then the one with the most headroom left.
   */
  async #mostHeadroom(nodes: readonly ServiceInstance[], overcommit = false): Promise<ServiceInstance> {
    const loads = await Promise.all(
      nodes.map(async (node) => {
        const [load, rooms] = await Promise.all([this.#load(node), this.#roomCount(node.id)]);
        return { node, rooms, tiebreak: Math.random(), ...load };
      }),
    );
    const answered = loads.filter((load) => load.answered);
    const reachable = answered.length > 0 ? answered : loads.filter((load) => load.slow);
    const accepting = reachable.filter((load) => load.accepting);
    const candidates = accepting.length === 0 && overcommit ? reachable : accepting;
    if (candidates.length === 0) {
      throw new UnavailableError('every media node is at capacity or draining; try again in a moment');
    }
    candidates.sort((a, b) => b.headroom - a.headroom || a.rooms - b.rooms || a.tiebreak - b.tiebreak);
    if (candidates !== accepting) {
      this.#logger.warn(
        { mediaNode: candidates[0].node.id, headroom: candidates[0].headroom },
        'every media node is at capacity: a call in progress goes over it rather than refuse someone',
      );
    }
    return candidates[0].node;
  }

  /** What placement needs of a node's load (see `#loadOf`). */
  async #load(
    node: ServiceInstance,
  ): Promise<{ accepting: boolean; headroom: number; answered: boolean; slow: boolean }> {
    const { load, answered, slow } = await this.#loadOf(node, 'placement');
    return { accepting: load.accepting, headroom: load.maxConsumers - load.consumers, answered, slow };
  }

  /**
   * A node's load as it answers GetLoad now (short deadline), or, when it does not answer, what it
   * last published in its Consul meta (`answered: false`; `slow`: it timed out rather than failed).
   */
  async #loadOf(
    node: ServiceInstance,
    correlationId: string,
  ): Promise<{ load: NodeLoad; answered: boolean; slow: boolean }> {
    try {
      const load = await this.#client(node).call('getLoad', {}, { correlationId }, LOAD_TIMEOUT_MS);
      return {
        load: {
          accepting: load.accepting,
          draining: load.draining,
          workers: load.workers.length,
          rooms: load.rooms,
          transports: load.transports,
          producers: load.producers,
          consumers: load.consumers,
          maxConsumers: load.maxConsumers,
          cpu: Math.max(0, ...load.workers.map((w) => w.cpu)),
        },
        answered: true,
        slow: false,
      };
    } catch (error) {
      const slow = error instanceof AppError && error.code === 'DEADLINE_EXCEEDED';
      this.#logger.warn(
        { err: error, mediaNode: node.id },
        slow ? 'a media node was slow to tell its load' : 'a media node did not answer; no room goes there',
      );
      const meta = (name: string) => Number(node.meta[name] ?? 0) || 0;
      return {
        load: {
          accepting: node.meta.accepting !== 'false',
          draining: node.meta.draining === 'true',
          workers: meta('workers'),
          rooms: meta('rooms'),
          transports: 0,
          producers: 0,
          consumers: meta('consumers'),
          maxConsumers: meta('max_consumers'),
          cpu: meta('cpu'),
        },
        answered: false,
        slow,
      };
    }
  }

  /**
   * The rooms whose home a node is: the members of its set that are still mapped to it. Members
   * left behind (a room that moved, or was never released because an instance crashed) are
   * dropped here.
   */
  async #homeRooms(nodeId: string): Promise<string[]> {
    const rooms = await this.#redis.smembers(nodeRoomsKey(nodeId));
    if (rooms.length === 0) {
      return [];
    }
    const mapped = await this.#redis.mget(...rooms.map(roomMediaKey));
    const stale = rooms.filter((_, i) => mapped[i] !== nodeId);
    if (stale.length > 0) {
      await this.#redis.srem(nodeRoomsKey(nodeId), ...stale);
    }
    return rooms.filter((_, i) => mapped[i] === nodeId).sort();
  }

  async #roomCount(nodeId: string): Promise<number> {
    return (await this.#homeRooms(nodeId)).length;
  }

  /** The rooms with a call in progress: those whose home is a passing node. */
  async liveRooms(): Promise<string[]> {
    const nodes = await this.#watcher.refresh();
    return [...new Set((await Promise.all(nodes.map((node) => this.#homeRooms(node.id)))).flat())];
  }

  /**
   * Every passing node as an operator sees it: its load as it answers GetLoad now (or, when it
   * does not answer in time, what it last published in its Consul meta) and the rooms whose home
   * it is. In Consul's order of ids.
   */
  async nodes(): Promise<NodeStatus[]> {
    const nodes = [...(await this.#watcher.refresh())].sort((a, b) => a.id.localeCompare(b.id));
    return Promise.all(
      nodes.map(async (node): Promise<NodeStatus> => {
        const [roomIds, { load, answered }] = await Promise.all([
          this.#homeRooms(node.id),
          this.#loadOf(node, 'nodes'),
        ]);
        return { id: node.id, address: `${node.address}:${node.port}`, answered, ...load, roomIds };
      }),
    );
  }

  /**
   * Records again that `nodeId` is the room's home and `others` its other nodes (Redis forgot
   * them), unless another home was assigned meanwhile; returns the home now.
   */
  async restoreRoom(roomId: string, nodeId: string, others: readonly string[] = []): Promise<string> {
    if (others.length > 0) {
      await this.#redis.sadd(roomNodesKey(roomId), nodeId, ...others);
    }
    if ((await this.#redis.set(roomMediaKey(roomId), nodeId, 'NX')) === 'OK') {
      await this.#redis.sadd(nodeRoomsKey(nodeId), roomId);
      return nodeId;
    }
    return (await this.#redis.get(roomMediaKey(roomId))) ?? nodeId;
  }

  /**
   * Forgets the room's home if it is still `instanceId` (the room closed there), and the room's
   * other nodes with it.
   */
  async releaseRoom(roomId: string, instanceId: string): Promise<void> {
    if ((await this.#redis.eval(COMPARE_AND_DELETE, 1, roomMediaKey(roomId), instanceId)) === 1) {
      await this.#redis.del(roomNodesKey(roomId));
    }
    await this.#redis.srem(nodeRoomsKey(instanceId), roomId);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#watcher.close();
    for (const client of this.#clients.values()) {
      client.close();
    }
    this.#clients.clear();
  }
}
