/**
 * zod schemas for the mediasoup(-client) RTP/ICE/DTLS objects a browser sends. They check shape
 * and bounds so malformed input is refused at the socket with a clear message; mediasoup checks
 * the semantics.
 */
import { z } from 'zod';

const id = z.string().min(1).max(128);
const codecParameters = z.record(z.string().max(64), z.union([z.string().max(256), z.number()])).default({});
const rtcpFeedback = z
  .array(z.object({ type: z.string().max(32), parameter: z.string().max(32).optional() }))
  .max(16);

export const mediaKindSchema = z.enum(['audio', 'video']);
export type MediaKind = z.infer<typeof mediaKindSchema>;

export const rtpCodecCapabilitySchema = z.object({
  kind: mediaKindSchema,
  mimeType: z.string().min(3).max(64),
  preferredPayloadType: z.number().int().min(0).max(127).optional(),
  clockRate: z.number().int().positive(),
  channels: z.number().int().positive().max(255).optional(),
  parameters: codecParameters.optional(),
  rtcpFeedback: rtcpFeedback.optional(),
});

export const rtpHeaderExtensionSchema = z.object({
  kind: mediaKindSchema,
  uri: z.string().max(256),
  preferredId: z.number().int().min(1).max(255),
  preferredEncrypt: z.boolean().optional(),
  direction: z.enum(['sendrecv', 'sendonly', 'recvonly', 'inactive']).optional(),
});

export const rtpCapabilitiesSchema = z.object({
  codecs: z.array(rtpCodecCapabilitySchema).max(128).optional(),
  headerExtensions: z.array(rtpHeaderExtensionSchema).max(64).optional(),
});
export type RtpCapabilities = z.infer<typeof rtpCapabilitiesSchema>;

export const rtpParametersSchema = z.object({
  mid: z.string().max(32).optional(),
  codecs: z
    .array(
      z.object({
        mimeType: z.string().min(3).max(64),
        payloadType: z.number().int().min(0).max(127),
        clockRate: z.number().int().positive(),
        channels: z.number().int().positive().max(255).optional(),
        parameters: codecParameters.optional(),
        rtcpFeedback: rtcpFeedback.optional(),
      }),
    )
    .min(1)
    .max(32),
  headerExtensions: z
    .array(
      z.object({
        uri: z.string().max(256),
        id: z.number().int().min(1).max(255),
        encrypt: z.boolean().optional(),
        parameters: codecParameters.optional(),
      }),
    )
    .max(32)
    .optional(),
  encodings: z
    .array(
      z.object({
        ssrc: z.number().int().nonnegative().optional(),
        rid: z.string().max(32).optional(),
        codecPayloadType: z.number().int().min(0).max(127).optional(),
        rtx: z.object({ ssrc: z.number().int().nonnegative() }).optional(),
        dtx: z.boolean().optional(),
        scalabilityMode: z.string().max(16).optional(),
        scaleResolutionDownBy: z.number().positive().optional(),
        maxBitrate: z.number().int().positive().optional(),
        maxFramerate: z.number().positive().optional(),
        adaptivePtime: z.boolean().optional(),
      }),
    )
    .max(8)
    .optional(),
  rtcp: z.object({ cname: z.string().max(128).optional(), reducedSize: z.boolean().optional() }).optional(),
});
export type RtpParameters = z.infer<typeof rtpParametersSchema>;

export const dtlsParametersSchema = z.object({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.object({ algorithm: z.string().min(1).max(16), value: z.string().min(1).max(256) }))
    .min(1)
    .max(8),
});
export type DtlsParameters = z.infer<typeof dtlsParametersSchema>;

export const iceParametersSchema = z.object({
  usernameFragment: z.string(),
  password: z.string(),
  iceLite: z.boolean().optional(),
});
export type IceParameters = z.infer<typeof iceParametersSchema>;

export interface IceCandidate {
  foundation: string;
  priority: number;
  address: string;
  ip: string;
  protocol: 'udp' | 'tcp';
  port: number;
  type: 'host';
  tcpType?: 'passive';
}

export { id as idSchema };
