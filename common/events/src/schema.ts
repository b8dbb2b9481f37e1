/**
 * The lifecycle events of rooms, participants, tracks and media nodes, as they go onto the event
 * stream: one envelope (id, version, type, time, room, participant) and a payload per type. Version
 * 1. Readers tolerate what they do not know: an unknown field is kept (loose objects) and an
 * unknown type is passed on as `unknown` rather than refused, so a newer writer never stops an
 * older consumer.
 */
import { z } from 'zod';
import { describeZodError } from '@switchboard/errors';

export const EVENT_SCHEMA_VERSION = 1;

const kind = z.enum(['audio', 'video']);
const source = z.enum(['microphone', 'camera', 'screen']);

/** Each type's payload. */
export const eventPayloads = {
  'room.started': z.looseObject({ node: z.string().optional() }),
  'room.ended': z.looseObject({ reason: z.string().optional() }),
  'participant.joined': z.looseObject({ sub: z.string(), displayName: z.string(), role: z.string() }),
  'participant.left': z.looseObject({ reason: z.string() }),
  'participant.admitted': z.looseObject({ sub: z.string().optional(), by: z.string().optional() }),
  'participant.removed': z.looseObject({ sub: z.string().optional(), by: z.string().optional() }),
  'track.published': z.looseObject({ producerId: z.string(), kind, source, paused: z.boolean().optional() }),
  'track.unpublished': z.looseObject({ producerId: z.string() }),
  'track.muted': z.looseObject({
    producerId: z.string(),
    muted: z.boolean(),
    byHost: z.boolean().optional(),
  }),
  'quality.sample': z.looseObject({
    bitrateKbps: z.number().nonnegative(),
    lossPercent: z.number().min(0).max(100),
    rttMs: z.number().nonnegative().optional(),
    jitterMs: z.number().nonnegative().optional(),
    score: z.number().min(0).max(10).optional(),
  }),
  'node.drained': z.looseObject({
    node: z.string(),
    by: z.string().optional(),
    deadlineSeconds: z.number().optional(),
    rooms: z.number().optional(),
  }),
  'node.lost': z.looseObject({ node: z.string() }),
} as const;

export type EventType = keyof typeof eventPayloads;
export const EVENT_TYPES = Object.keys(eventPayloads) as EventType[];

export type EventPayload<T extends EventType> = z.infer<(typeof eventPayloads)[T]>;

/** What a writer gives: the type, where it happened and its payload (id and time are added). */
export type NewEvent = {
  [T in EventType]: { type: T; roomId?: string; peerId?: string; data: EventPayload<T> };
}[EventType];

/** An event as stored and read back. */
export type SwitchboardEvent = NewEvent & {
  /** Unique and time-ordered (a UUIDv7-like id made by the writer). */
  id: string;
  version: number;
  /** When it happened (ISO 8601). */
  time: string;
};

const envelope = z.looseObject({
  id: z.string().min(1),
  version: z.number().int().positive(),
  type: z.string().min(1),
  time: z.iso.datetime(),
  roomId: z.string().optional(),
  peerId: z.string().optional(),
  data: z.unknown(),
});

/** A read event: known and valid, of a type this reader does not know, or not an event at all. */
export type ReadEvent =
  | { ok: true; event: SwitchboardEvent }
  | { ok: false; why: 'unknown type'; raw: z.infer<typeof envelope> }
  | { ok: false; why: 'invalid'; message: string };

/** Checks an event as read from the stream (JSON). */
export function readEvent(json: string): ReadEvent {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, why: 'invalid', message: 'not JSON' };
  }
  const outer = envelope.safeParse(value);
  if (!outer.success) {
    return { ok: false, why: 'invalid', message: describeZodError(outer.error) };
  }
  const schema = eventPayloads[outer.data.type as EventType];
  if (!schema) {
    return { ok: false, why: 'unknown type', raw: outer.data };
  }
  const data = schema.safeParse(outer.data.data);
  if (!data.success) {
    return {
      ok: false,
      why: 'invalid',
      message: `${outer.data.type}: ${describeZodError(data.error)}`,
    };
  }
  return { ok: true, event: { ...outer.data, data: data.data } as SwitchboardEvent };
}
