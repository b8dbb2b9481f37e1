/**
 * The one home of a room's participants across every signaling instance (and what the gateway
 * reads of them): Redis hashes `sb:room:<id>:peers` (peerId → the participant, in the one shape
 * `storedParticipantSchema` checks on every read and write), `sb:room:<id>:identities` (a join
 * token's subject → the one connection that is that participant: its newest connection replaces
 * the others) and `sb:room:<id>:producers` (producerId → ProducerInfo), and the set `sb:rooms` of
 * rooms with participants. Changes to one participant are merged in Redis (a Lua script), so two
 * writers changing different fields at once never undo each other.
 *
 * Adding a per-participant field: add it to `storedParticipantSchema` (public fields reach
 * everyone through `publicParticipant`, which leaves out only what PRIVATE_FIELDS names).
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { InvalidArgumentError } from '@switchboard/errors';
import {
  ATTRIBUTE_LIMITS,
  ATTRIBUTES_TOO_BIG,
  mediaKindSchema,
  mediaSourceSchema,
  participantAttributesSchema,
  presenceStateSchema,
  roleSchema,
  type PeerInfo,
  type PresenceState,
  type ProducerInfo,
  type Role,
} from '@switchboard/protocol';

export const roomKeys = (roomId: string) => ({
  peers: `sb:room:${roomId}:peers`,
  producers: `sb:room:${roomId}:producers`,
  identities: `sb:room:${roomId}:identities`,
  sessions: `sb:room:${roomId}:sessions`,
});
/** The rooms with participants or open sessions (what the sweep walks). */
export const ROOMS_KEY = 'sb:rooms';

/** A participant as the room keeps it: what everyone sees, plus what signaling needs. */
export const storedParticipantSchema = z.object({
  peerId: z.string().min(1),
  displayName: z.string(),
  role: roleSchema,
  /** The identity (`user:<uuid>` / `guest:<uuid>`), the join token's subject. */
  sub: z.string().min(1),
  presence: presenceStateSchema.default('active'),
  attributes: participantAttributesSchema.default({}),
  // Private: never sent to browsers (PRIVATE_FIELDS).
  /** The signaling instance holding its socket. */
  instanceId: z.string().min(1),
  /** The join token's id (a removal bans it). */
  jti: z.string(),
  /** The client's address (a removed guest's address is banned with it). */
  address: z.string().optional(),
  /** The media node its media is on (the Consul id; its producers are piped from there). */
  mediaNode: z.string().optional(),
});
export type StoredParticipant = z.output<typeof storedParticipantSchema>;

const PRIVATE_FIELDS = ['instanceId', 'jti', 'address', 'mediaNode'] as const;

/** What everyone in the room sees of a participant: all but the private fields. */
export function publicParticipant(participant: StoredParticipant): PeerInfo {
  const info: Record<string, unknown> = { ...participant };
  for (const field of PRIVATE_FIELDS) {
    delete info[field];
  }
  return info as unknown as PeerInfo;
}

/** One stored participant, checked; a row that does not fit the schema is an error, never dropped fields. */
function parseParticipant(json: string): StoredParticipant {
  return storedParticipantSchema.parse(JSON.parse(json));
}

const producerSchema = z.object({
  producerId: z.string().min(1),
  peerId: z.string().min(1),
  kind: mediaKindSchema,
  source: mediaSourceSchema.optional(),
  paused: z.boolean(),
});

/** An identity's claim outlives any join token; the next connection replaces a stale one. */
const IDENTITY_TTL_MS = 24 * 3600 * 1000;

/**
 * Makes ARGV[2] the connection of identity ARGV[1]; answers the one it replaced, which stops
 * being a participant at once (its socket's departure does the rest).
 */
const CLAIM_IDENTITY = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if previous and previous ~= ARGV[2] then redis.call('HDEL', KEYS[2], previous) end
return previous`;
/** Forgets identity ARGV[1]'s connection if it is still ARGV[2]. */
const RELEASE_IDENTITY = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;
/** Adds peer ARGV[2] (JSON ARGV[3]) only while it is the connection of its identity ARGV[1]. */
const ADD_PEER = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return 1`;
/**
 * Merges JSON ARGV[2] into peer ARGV[1]'s fields (top level; `attributes` key by key, a JSON null
 * value removing the key); answers the participant as it is now, or nil when it is not in the room.
 * The merged attributes must fit ARGV[3] keys and ARGV[4] characters (keys and values, counted as
 * JavaScript counts them: UTF-16 units), checked here so that two changes at once on two instances
 * cannot together pass the cap each passed alone: else nothing is written and it answers
 * `!keys` or `!size`.
 */
const UPDATE_PEER = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return nil end
local peer = cjson.decode(raw)
local changes = cjson.decode(ARGV[2])
local function units(s)
  local _, points = string.gsub(s, '[^\\128-\\191]', '')
  local _, astral = string.gsub(s, '[\\240-\\244]', '')
  return points + astral
end
for field, value in pairs(changes) do
  if field == 'attributes' then
    local attributes = peer.attributes
    if type(attributes) ~= 'table' or next(attributes) == nil then attributes = {} end
    for key, v in pairs(value) do
      if v == cjson.null then attributes[key] = nil else attributes[key] = v end
    end
    local count, size = 0, 0
    for key, v in pairs(attributes) do
      count = count + 1
      size = size + units(key) + units(v)
    end
    if count > tonumber(ARGV[3]) then return '!keys' end
    if size > tonumber(ARGV[4]) then return '!size' end
    if next(attributes) == nil then peer.attributes = cjson.decode('{}') else peer.attributes = attributes end
  else
    peer[field] = value
  end
end
local updated = cjson.encode(peer)
redis.call('HSET', KEYS[1], ARGV[1], updated)
return updated`;

/** The fields of a participant others may change after it joined. */
export type ParticipantChanges = Partial<Pick<StoredParticipant, 'role' | 'presence' | 'displayName'>> & {
  /** Attribute changes: a string sets the key, null removes it. */
  attributes?: Record<string, string | null>;
};

export class ParticipantStore {
  protected readonly redis: Redis;

  constructor(redis: Redis) {
    this.redis = redis;
  }

  /**
   * Makes `peerId` the one connection of identity `sub` (a join token's subject) in the room;
   * answers the connection it replaces (to be closed), if another held it.
   */
  async claimIdentity(roomId: string, sub: string, peerId: string): Promise<string | undefined> {
    const keys = roomKeys(roomId);
    const previous = (await this.redis.eval(
      CLAIM_IDENTITY,
      2,
      keys.identities,
      keys.peers,
      sub,
      peerId,
      IDENTITY_TTL_MS,
    )) as string | null;
    return previous && previous !== peerId ? previous : undefined;
  }

  /** The identity's connection leaves (a newer one that replaced it keeps its claim). */
  async releaseIdentity(roomId: string, sub: string, peerId: string): Promise<void> {
    await this.redis.eval(RELEASE_IDENTITY, 1, roomKeys(roomId).identities, sub, peerId);
  }

  /**
   * Adds the participant to the room, atomically with the check that it is still its identity's
   * connection: false (nothing added) when a newer connection replaced it, so an identity is
   * never two participants.
   */
  async addPeer(roomId: string, participant: z.input<typeof storedParticipantSchema>): Promise<boolean> {
    const checked = storedParticipantSchema.parse(participant);
    const keys = roomKeys(roomId);
    const added = await this.redis.eval(
      ADD_PEER,
      3,
      keys.identities,
      keys.peers,
      ROOMS_KEY,
      checked.sub,
      checked.peerId,
      JSON.stringify(checked),
      roomId,
    );
    return added === 1;
  }

  /** Removes the participant and its producers; returns the producers it had. */
  async removePeer(roomId: string, peerId: string): Promise<{ producers: ProducerInfo[] }> {
    const keys = roomKeys(roomId);
    const producers = (await this.producers(roomId)).filter((p) => p.peerId === peerId);
    const multi = this.redis.multi().hdel(keys.peers, peerId);
    if (producers.length > 0) {
      multi.hdel(keys.producers, ...producers.map((p) => p.producerId));
    }
    await multi.exec();
    return { producers };
  }

  /** Participants in the room on every instance. */
  async count(roomId: string): Promise<number> {
    return this.redis.hlen(roomKeys(roomId).peers);
  }

  /** What everyone sees of the room's participants. */
  async peers(roomId: string): Promise<PeerInfo[]> {
    return (await this.stored(roomId)).map(publicParticipant);
  }

  /** The room's participants as stored (private fields included). */
  async stored(roomId: string): Promise<StoredParticipant[]> {
    return Object.values(await this.redis.hgetall(roomKeys(roomId).peers)).map(parseParticipant);
  }

  async peer(roomId: string, peerId: string): Promise<StoredParticipant | undefined> {
    const value = await this.redis.hget(roomKeys(roomId).peers, peerId);
    return value ? parseParticipant(value) : undefined;
  }

  /** Each participant's media node, by peer id. */
  async mediaNodes(roomId: string): Promise<Map<string, string | undefined>> {
    return new Map((await this.stored(roomId)).map((peer) => [peer.peerId, peer.mediaNode]));
  }

  /**
   * Changes a participant's fields at once (merged in Redis: concurrent changes to other fields
   * stay); answers the participant as it is now, or undefined when it is no longer in the room.
   */
  async update(
    roomId: string,
    peerId: string,
    changes: ParticipantChanges,
  ): Promise<StoredParticipant | undefined> {
    const updated = (await this.redis.eval(
      UPDATE_PEER,
      1,
      roomKeys(roomId).peers,
      peerId,
      JSON.stringify(changes),
      ATTRIBUTE_LIMITS.keys,
      ATTRIBUTE_LIMITS.totalChars,
    )) as string | null;
    if (updated === '!keys' || updated === '!size') {
      throw new InvalidArgumentError(ATTRIBUTES_TOO_BIG[updated === '!keys' ? 'keys' : 'size']);
    }
    return updated ? parseParticipant(updated) : undefined;
  }

  /** Changes a participant's role (a host promoted it); false when it is no longer in the room. */
  async setRole(roomId: string, peerId: string, role: Role): Promise<boolean> {
    return !!(await this.update(roomId, peerId, { role }));
  }

  /** Records whether the participant is in the call or away; false when it is no longer in the room. */
  async setState(roomId: string, peerId: string, presence: PresenceState): Promise<boolean> {
    return !!(await this.update(roomId, peerId, { presence }));
  }

  async addProducer(roomId: string, producer: ProducerInfo): Promise<void> {
    await this.redis.hset(
      roomKeys(roomId).producers,
      producer.producerId,
      JSON.stringify(producerSchema.parse(producer)),
    );
  }

  async removeProducer(roomId: string, producerId: string): Promise<void> {
    await this.redis.hdel(roomKeys(roomId).producers, producerId);
  }

  async producer(roomId: string, producerId: string): Promise<ProducerInfo | undefined> {
    const value = await this.redis.hget(roomKeys(roomId).producers, producerId);
    return value ? producerSchema.parse(JSON.parse(value)) : undefined;
  }

  async setProducerPaused(roomId: string, producerId: string, paused: boolean): Promise<void> {
    const producer = await this.producer(roomId, producerId);
    if (producer) {
      await this.addProducer(roomId, { ...producer, paused });
    }
  }

  async producers(roomId: string): Promise<ProducerInfo[]> {
    return Object.values(await this.redis.hgetall(roomKeys(roomId).producers)).map((v) =>
      producerSchema.parse(JSON.parse(v)),
    );
  }
}
