/**
 * Conversions between the JSON shapes mediasoup and mediasoup-client use and the typed protobuf
 * messages of switchboard.media.v1. Round trips are lossless for every field the proto carries.
 */
import type {
  DtlsParameters as DtlsJson,
  IceCandidate as IceCandidateJson,
  IceParameters as IceParametersJson,
  MediaKind as MediaKindJson,
  RtpCapabilities as RtpCapabilitiesJson,
  RtpParameters as RtpParametersJson,
} from '@switchboard/protocol';
import {
  MediaKind,
  type CodecParameterValue,
  type DtlsParameters,
  type IceCandidate,
  type IceParameters,
  type RtcpFeedback,
  type RtpCapabilities,
  type RtpEncodingParameters,
  type RtpParameters,
} from './gen/switchboard/media/v1/media';

type ParamsJson = Record<string, string | number>;

export function mediaKindToProto(kind: MediaKindJson): MediaKind {
  return kind === 'audio' ? MediaKind.MEDIA_KIND_AUDIO : MediaKind.MEDIA_KIND_VIDEO;
}

/** Returns undefined for MEDIA_KIND_UNSPECIFIED (and unknown values) so callers can refuse it. */
export function mediaKindFromProto(kind: MediaKind): MediaKindJson | undefined {
  if (kind === MediaKind.MEDIA_KIND_AUDIO) {
    return 'audio';
  }
  if (kind === MediaKind.MEDIA_KIND_VIDEO) {
    return 'video';
  }
  return undefined;
}

function paramsToProto(params: ParamsJson | undefined): Record<string, CodecParameterValue> {
  const out: Record<string, CodecParameterValue> = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    out[key] = {
      value:
        typeof value === 'number'
          ? { $case: 'numberValue', value }
          : { $case: 'stringValue', value: String(value) },
    };
  }
  return out;
}

function paramsFromProto(params: Record<string, CodecParameterValue>): ParamsJson {
  const out: ParamsJson = {};
  for (const [key, { value }] of Object.entries(params)) {
    if (value) {
      out[key] = value.value;
    }
  }
  return out;
}

function feedbackToProto(feedback: { type: string; parameter?: string }[] | undefined): RtcpFeedback[] {
  return (feedback ?? []).map((fb) => ({ type: fb.type, parameter: fb.parameter ?? '' }));
}

function feedbackFromProto(feedback: RtcpFeedback[]): { type: string; parameter: string }[] {
  return feedback.map((fb) => ({ type: fb.type, parameter: fb.parameter }));
}

/** Encodings have the same fields on both sides; only `rtx` is a nested object to copy. */
function encoding(
  enc: RtpEncodingParameters | NonNullable<RtpParametersJson['encodings']>[number],
): RtpEncodingParameters {
  return {
    ssrc: enc.ssrc,
    rid: enc.rid,
    codecPayloadType: enc.codecPayloadType,
    rtx: enc.rtx ? { ssrc: enc.rtx.ssrc } : undefined,
    dtx: enc.dtx,
    scalabilityMode: enc.scalabilityMode,
    scaleResolutionDownBy: enc.scaleResolutionDownBy,
    maxBitrate: enc.maxBitrate,
    maxFramerate: enc.maxFramerate,
    adaptivePtime: enc.adaptivePtime,
  };
}

/** Drops undefined members so JSON objects look like mediasoup's own (no `key: undefined`). */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function rtpCapabilitiesToProto(caps: RtpCapabilitiesJson): RtpCapabilities {
  return {
    codecs: (caps.codecs ?? []).map((codec) => ({
      kind: mediaKindToProto(codec.kind),
      mimeType: codec.mimeType,
      preferredPayloadType: codec.preferredPayloadType,
      clockRate: codec.clockRate,
      channels: codec.channels,
      parameters: paramsToProto(codec.parameters),
      rtcpFeedback: feedbackToProto(codec.rtcpFeedback),
    })),
    headerExtensions: (caps.headerExtensions ?? []).map((ext) => ({
      kind: mediaKindToProto(ext.kind),
      uri: ext.uri,
      preferredId: ext.preferredId,
      preferredEncrypt: ext.preferredEncrypt ?? false,
      direction: ext.direction ?? 'sendrecv',
    })),
  };
}

export function rtpCapabilitiesFromProto(caps: RtpCapabilities): RtpCapabilitiesJson {
  return {
    codecs: caps.codecs.map((codec) =>
      compact({
        kind: mediaKindFromProto(codec.kind) ?? 'video',
        mimeType: codec.mimeType,
        preferredPayloadType: codec.preferredPayloadType,
        clockRate: codec.clockRate,
        channels: codec.channels,
        parameters: paramsFromProto(codec.parameters),
        rtcpFeedback: feedbackFromProto(codec.rtcpFeedback),
      }),
    ),
    headerExtensions: caps.headerExtensions.map((ext) => ({
      kind: mediaKindFromProto(ext.kind) ?? 'video',
      uri: ext.uri,
      preferredId: ext.preferredId,
      preferredEncrypt: ext.preferredEncrypt,
      direction: ext.direction as 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive',
    })),
  };
}

export function rtpParametersToProto(params: RtpParametersJson): RtpParameters {
  return {
    mid: params.mid,
    codecs: params.codecs.map((codec) => ({
      mimeType: codec.mimeType,
      payloadType: codec.payloadType,
      clockRate: codec.clockRate,
      channels: codec.channels,
      parameters: paramsToProto(codec.parameters),
      rtcpFeedback: feedbackToProto(codec.rtcpFeedback),
    })),
    headerExtensions: (params.headerExtensions ?? []).map((ext) => ({
      uri: ext.uri,
      id: ext.id,
      encrypt: ext.encrypt ?? false,
      parameters: paramsToProto(ext.parameters),
    })),
    encodings: (params.encodings ?? []).map(encoding),
    rtcp: params.rtcp ? { cname: params.rtcp.cname, reducedSize: params.rtcp.reducedSize } : undefined,
  };
}

export function rtpParametersFromProto(params: RtpParameters): RtpParametersJson {
  return compact({
    mid: params.mid,
    codecs: params.codecs.map((codec) =>
      compact({
        mimeType: codec.mimeType,
        payloadType: codec.payloadType,
        clockRate: codec.clockRate,
        channels: codec.channels,
        parameters: paramsFromProto(codec.parameters),
        rtcpFeedback: feedbackFromProto(codec.rtcpFeedback),
      }),
    ),
    headerExtensions: params.headerExtensions.map((ext) => ({
      uri: ext.uri,
      id: ext.id,
      encrypt: ext.encrypt,
      parameters: paramsFromProto(ext.parameters),
    })),
    encodings: params.encodings.map((enc) => compact(encoding(enc))),
    rtcp: params.rtcp
      ? compact({ cname: params.rtcp.cname, reducedSize: params.rtcp.reducedSize })
      : undefined,
  });
}

export function dtlsParametersToProto(dtls: DtlsJson): DtlsParameters {
  return { role: dtls.role ?? 'auto', fingerprints: dtls.fingerprints.map((fp) => ({ ...fp })) };
}

export function dtlsParametersFromProto(dtls: DtlsParameters): DtlsJson {
  return {
    role: dtls.role as DtlsJson['role'],
    fingerprints: dtls.fingerprints.map((fp) => ({ algorithm: fp.algorithm, value: fp.value })),
  };
}

export function iceParametersToProto(ice: IceParametersJson): IceParameters {
  return { usernameFragment: ice.usernameFragment, password: ice.password, iceLite: ice.iceLite ?? false };
}

export function iceParametersFromProto(ice: IceParameters): IceParametersJson {
  return { usernameFragment: ice.usernameFragment, password: ice.password, iceLite: ice.iceLite };
}

export function iceCandidateToProto(candidate: {
  foundation: string;
  priority: number;
  address: string;
  protocol: string;
  port: number;
  type: string;
  tcpType?: string;
}): IceCandidate {
  return {
    foundation: candidate.foundation,
    priority: candidate.priority,
    address: candidate.address,
    protocol: candidate.protocol,
    port: candidate.port,
    type: candidate.type,
    tcpType: candidate.tcpType,
  };
}

export function iceCandidateFromProto(candidate: IceCandidate): IceCandidateJson {
  return compact({
    foundation: candidate.foundation,
    priority: candidate.priority,
    address: candidate.address,
    ip: candidate.address,
    protocol: candidate.protocol as 'udp' | 'tcp',
    port: candidate.port,
    type: 'host' as const,
    tcpType: candidate.tcpType as 'passive' | undefined,
  });
}
