/**
 * The socket.io contract between browsers and the signaling service: event maps for both
 * directions and a zod schema for every request payload. Imported by the signaling server and by
 * the UI, so both sides agree at compile time.
 */
import { z } from 'zod';
import {
  dtlsParametersSchema,
  idSchema,
  mediaKindSchema,
  rtpCapabilitiesSchema,
  rtpParametersSchema,
  type DtlsParameters,
  type IceCandidate,
  type IceParameters,
  type MediaKind,
  type RtpCapabilities,
  type RtpParameters,
} from './rtp';

export * from './rtp';

/** Room names: lowercase letters, digits and dashes, 1–64 characters, no leading/trailing dash. */
export const roomNameSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/,
    'must be 1-64 lowercase letters, digits or dashes, not starting or ending with a dash',
  );

export const displayNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .refine(
    (value) => ![...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
    'must not contain control characters',
  );

/** The claims of a join token (a JWT signed by the gateway, checked by signaling). */
export interface JoinTokenClaims {
  room: string;
  name: string;
}

/** Every request may carry the browser's correlation id; the server makes one when absent. */
const base = { correlationId: z.string().min(1).max(64).optional() };

export const requestSchemas = {
  getRouterRtpCapabilities: z.object({ ...base }),
  join: z.object({ ...base, rtpCapabilities: rtpCapabilitiesSchema }),
  createWebRtcTransport: z.object({ ...base, producing: z.boolean() }),
  connectWebRtcTransport: z.object({ ...base, transportId: idSchema, dtlsParameters: dtlsParametersSchema }),
  produce: z.object({
    ...base,
    transportId: idSchema,
    kind: mediaKindSchema,
    rtpParameters: rtpParametersSchema,
    paused: z.boolean().optional(),
  }),
  closeProducer: z.object({ ...base, producerId: idSchema }),
  pauseProducer: z.object({ ...base, producerId: idSchema }),
  resumeProducer: z.object({ ...base, producerId: idSchema }),
  consume: z.object({ ...base, transportId: idSchema, producerId: idSchema }),
  resumeConsumer: z.object({ ...base, consumerId: idSchema }),
  leave: z.object({ ...base }),
} as const;

export type RequestName = keyof typeof requestSchemas;
export type RequestPayload<E extends RequestName> = z.input<(typeof requestSchemas)[E]>;

export interface PeerInfo {
  peerId: string;
  displayName: string;
}

export interface ProducerInfo {
  producerId: string;
  peerId: string;
  kind: MediaKind;
  paused: boolean;
}

export interface TransportInfo {
  id: string;
  iceParameters: IceParameters;
  iceCandidates: IceCandidate[];
  dtlsParameters: DtlsParameters;
}

export interface ConsumerInfo {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  producerPaused: boolean;
}

export interface JoinResult {
  roomId: string;
  peerId: string;
  displayName: string;
  peers: PeerInfo[];
  producers: ProducerInfo[];
}

/** What each request answers with. */
export interface ResponseMap {
  getRouterRtpCapabilities: { rtpCapabilities: RtpCapabilities };
  join: JoinResult;
  createWebRtcTransport: TransportInfo;
  connectWebRtcTransport: Record<string, never>;
  produce: { producerId: string };
  closeProducer: Record<string, never>;
  pauseProducer: Record<string, never>;
  resumeProducer: Record<string, never>;
  consume: ConsumerInfo;
  resumeConsumer: Record<string, never>;
  leave: Record<string, never>;
}

export interface AckError {
  code: string;
  message: string;
  correlationId?: string;
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: AckError };

export type ClientToServerEvents = {
  [E in RequestName]: (payload: RequestPayload<E>, ack: (response: Ack<ResponseMap[E]>) => void) => void;
};

export interface ServerToClientEvents {
  peerJoined: (event: PeerInfo) => void;
  peerLeft: (event: { peerId: string }) => void;
  newProducer: (event: ProducerInfo) => void;
  producerClosed: (event: { producerId: string; peerId: string }) => void;
  producerPaused: (event: { producerId: string; peerId: string; paused: boolean }) => void;
  consumerClosed: (event: { consumerId: string; producerId: string }) => void;
  /** The call cannot go on here (its media node lost the room); the socket closes next. */
  callEnded: (event: { reason: string }) => void;
}

/** Socket.io handshake `auth` payload. */
export interface HandshakeAuth {
  token: string;
}
