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
import { EVENT_STREAM, EVENT_STREAM_MAX_LENGTH, stampEvent, type NewEvent } from '@switchboard/events';
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
/**
 * Prepended to the scripts that write events: \`emit(stream, maxLength, json)\` appends one event
 * (an empty json: events are not recorded this time) to the stream, trimmed to about maxLength.
 */
const EMIT = `
local function emit(stream, max, json)
  if json ~= '' then redis.call('XADD', stream, 'MAXLEN', '~', max, '*', 'event', json) end
end
`;
/**
 * Adds peer ARGV[2] (JSON ARGV[3]) only while it is the connection of its identity ARGV[1]. When
 * events are recorded (ARGV[7] not empty), a new peer's \`participant.joined\` (ARGV[7]) goes onto
 * the event stream KEYS[4] (trimmed to about ARGV[5]) in the same step, after \`room.started\`
 * (ARGV[6]) when the room had nobody: the stream's order is the room's.
 */
const ADD_PEER = `${EMIT}
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local first = redis.call('HLEN', KEYS[2]) == 0
if redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) == 1 then
  if first then emit(KEYS[4], ARGV[5], ARGV[6]) end
  emit(KEYS[4], ARGV[5], ARGV[7])
end
redis.call('SADD', KEYS[3], ARGV[4])
return 1`;
/**
 * Removes peer ARGV[1] and its producers (ARGV[5..]: id, then its \`track.unpublished\`); when it
 * was there, each producer's event, its \`participant.left\` (ARGV[3]) and, when nobody is left,
 * \`room.ended\` (ARGV[4]) go onto the event stream KEYS[3] in the same step. Answers 1 when the
 * peer was there.
 */
const REMOVE_PEER = `${EMIT}
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
for i = 5, #ARGV, 2 do
  if redis.call('HDEL', KEYS[2], ARGV[i]) == 1 and removed == 1 then emit(KEYS[3], ARGV[2], ARGV[i + 1]) end
end
if removed == 0 then return 0 end
emit(KEYS[3], ARGV[2], ARGV[3])
if redis.call('HLEN', KEYS[1]) == 0 then emit(KEYS[3], ARGV[2], ARGV[4]) end
return 1`;
/** Records producer ARGV[1] (JSON ARGV[2]); a new one's \`track.published\` (ARGV[4], if any) goes onto KEYS[2]. */
const ADD_PRODUCER = `${EMIT}
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then emit(KEYS[2], ARGV[3], ARGV[4]) end`;
/** Forgets producer ARGV[1]; if it was there, its \`track.unpublished\` (ARGV[3]) goes onto KEYS[2]. */
const REMOVE_PRODUCER = `${EMIT}
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then emit(KEYS[2], ARGV[2], ARGV[3]) end`;
/**
 * Sets producer ARGV[1]'s \`paused\` to ARGV[2] ('1' or '0'); a change puts \`track.muted\`
 * (ARGV[4]) onto KEYS[2].
 */
const SET_PRODUCER_PAUSED = `${EMIT}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local producer = cjson.decode(raw)
local paused = ARGV[2] == '1'
if producer.paused == paused then return 0 end
producer.paused = paused
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(producer))
emit(KEYS[2], ARGV[3], ARGV[4])
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

/** An event as a script argument: stamped (id, time) and as JSON; '' when it is not recorded. */
function eventArg(event: NewEvent, record = true): string {
  return record ? JSON.stringify(stampEvent(event)) : '';
}

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
   * never two participants. A new participant's \`participant.joined\` (and the room's
   * \`room.started\` when it was empty) goes onto the event stream in the same step, unless
   * \`record\` is false (the participant is only written again, as after Redis lost its data).
   */
  async addPeer(
    roomId: string,
    participant: z.input<typeof storedParticipantSchema>,
    record = true,
  ): Promise<boolean> {
    const checked = storedParticipantSchema.parse(participant);
    const keys = roomKeys(roomId);
    const { peerId, sub, displayName, role } = checked;
    const added = await this.redis.eval(
      ADD_PEER,
      4,
      keys.identities,
      keys.peers,
      ROOMS_KEY,
      EVENT_STREAM,
      sub,
      peerId,
      JSON.stringify(checked),
      roomId,
      EVENT_STREAM_MAX_LENGTH,
      eventArg({ type: 'room.started', roomId, data: {} }, record),
      eventArg({ type: 'participant.joined', roomId, peerId, data: { sub, displayName, role } }, record),
    );
    return added === 1;
  }

  /**
   * Removes the participant and its producers; returns the producers it had, and whether it was
   * there. If it was, its \`participant.left\` (and \`room.ended\` when it was the last) goes onto
   * the event stream in the same step: once, whoever removes it first.
   */
  async removePeer(
    roomId: string,
    peerId: string,
    reason: string,
  ): Promise<{ producers: ProducerInfo[]; removed: boolean }> {
    const keys = roomKeys(roomId);
    const producers = (await this.producers(roomId)).filter((p) => p.peerId === peerId);
    const removed = await this.redis.eval(
      REMOVE_PEER,
      3,
      keys.peers,
      keys.producers,
      EVENT_STREAM,
      peerId,
      EVENT_STREAM_MAX_LENGTH,
      eventArg({ type: 'participant.left', roomId, peerId, data: { reason } }),
      eventArg({ type: 'room.ended', roomId, data: {} }),
      ...producers.flatMap(({ producerId }) => [
        producerId,
        eventArg({ type: 'track.unpublished', roomId, peerId, data: { producerId } }),
      ]),
    );
    return { producers, removed: removed === 1 };
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

  /**
   * Records a producer; a new one's \`track.published\` goes onto the event stream in the same
   * step unless \`record\` is false (written again after Redis lost its data).
   */
  async addProducer(roomId: string, producer: ProducerInfo, record = true): Promise<void> {
    const checked = producerSchema.parse(producer);
    const { producerId, peerId, kind, paused } = checked;
    const source = checked.source ?? (kind === 'audio' ? 'microphone' : 'camera');
    await this.redis.eval(
      ADD_PRODUCER,
      2,
      roomKeys(roomId).producers,
      EVENT_STREAM,
      producerId,
      JSON.stringify(checked),
      EVENT_STREAM_MAX_LENGTH,
      eventArg(
        { type: 'track.published', roomId, peerId, data: { producerId, kind, source, paused } },
        record,
      ),
    );
  }

  /** Forgets a producer; its \`track.unpublished\` goes onto the event stream once, by whoever removes it first. */
  async removeProducer(roomId: string, producerId: string, peerId: string): Promise<void> {
    await this.redis.eval(
      REMOVE_PRODUCER,
      2,
      roomKeys(roomId).producers,
      EVENT_STREAM,
      producerId,
      EVENT_STREAM_MAX_LENGTH,
      eventArg({ type: 'track.unpublished', roomId, peerId, data: { producerId } }),
    );
  }

  async producer(roomId: string, producerId: string): Promise<ProducerInfo | undefined> {
    const value = await this.redis.hget(roomKeys(roomId).producers, producerId);
    return value ? producerSchema.parse(JSON.parse(value)) : undefined;
  }

  /**
   * Records producer \`producerId\` (owned by \`peerId\`) paused or resumed; a change (not a repeat)
   * puts its \`track.muted\` on the event stream in the same step, saying whether a host did it.
   */
  async setProducerPaused(
    roomId: string,
    change: { producerId: string; peerId: string; paused: boolean; byHost: boolean },
  ): Promise<void> {
    const { producerId, peerId, paused, byHost } = change;
    await this.redis.eval(
      SET_PRODUCER_PAUSED,
      2,
      roomKeys(roomId).producers,
      EVENT_STREAM,
      producerId,
      paused ? '1' : '0',
      EVENT_STREAM_MAX_LENGTH,
      eventArg({ type: 'track.muted', roomId, peerId, data: { producerId, muted: paused, byHost } }),
    );
  }

  async producers(roomId: string): Promise<ProducerInfo[]> {
    return Object.values(await this.redis.hgetall(roomKeys(roomId).producers)).map((v) =>
      producerSchema.parse(JSON.parse(v)),
    );
  }
}
