import { describe, expect, it } from 'vitest';
import type { RtpCapabilities, RtpParameters } from '@switchboard/protocol';
import {
  MediaKind,
  RtpCapabilities as RtpCapabilitiesMessage,
  RtpParameters as RtpParametersMessage,
} from './gen/switchboard/media/v1/media';
import {
  mediaKindFromProto,
  rtpCapabilitiesFromProto,
  rtpCapabilitiesToProto,
  rtpParametersFromProto,
  rtpParametersToProto,
} from './convert';

// What Chromium's mediasoup-client sends for a VP8 simulcast track (trimmed) and an H264 codec.
const simulcast: RtpParameters = {
  mid: '1',
  codecs: [
    {
      mimeType: 'video/VP8',
      payloadType: 96,
      clockRate: 90000,
      parameters: {},
      rtcpFeedback: [
        { type: 'nack', parameter: '' },
        { type: 'nack', parameter: 'pli' },
        { type: 'goog-remb', parameter: '' },
      ],
    },
    { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 }, rtcpFeedback: [] },
  ],
  headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4, encrypt: false, parameters: {} }],
  encodings: [
    { rid: 'r0', scalabilityMode: 'L1T3', maxBitrate: 100000, scaleResolutionDownBy: 4 },
    { rid: 'r1', scalabilityMode: 'L1T3', maxBitrate: 300000, scaleResolutionDownBy: 2 },
    { ssrc: 1111, rtx: { ssrc: 2222 }, dtx: false },
  ],
  rtcp: { cname: 'abc', reducedSize: true },
};

const capabilities: RtpCapabilities = {
  codecs: [
    {
      kind: 'audio',
      mimeType: 'audio/opus',
      preferredPayloadType: 100,
      clockRate: 48000,
      channels: 2,
      parameters: { useinbandfec: 1 },
      rtcpFeedback: [],
    },
    {
      kind: 'video',
      mimeType: 'video/H264',
      preferredPayloadType: 102,
      clockRate: 90000,
      parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
      rtcpFeedback: [{ type: 'ccm', parameter: 'fir' }],
    },
  ],
  headerExtensions: [
    {
      kind: 'video',
      uri: 'urn:3gpp:video-orientation',
      preferredId: 11,
      preferredEncrypt: false,
      direction: 'sendrecv',
    },
  ],
};

/** Through the wire format and back, as gRPC does. */
function viaWire<T>(
  fns: { encode(m: T): { finish(): Uint8Array }; decode(b: Uint8Array): T },
  message: T,
): T {
  return fns.decode(fns.encode(message).finish());
}

describe('proto conversions', () => {
  it('round-trips RTP parameters through protobuf bytes, keeping number and string parameter types', () => {
    const back = rtpParametersFromProto(viaWire(RtpParametersMessage, rtpParametersToProto(simulcast)));
    expect(back).toEqual(simulcast);
    expect(typeof back.codecs[1].parameters?.apt).toBe('number');
  });

  it('round-trips RTP capabilities through protobuf bytes', () => {
    const back = rtpCapabilitiesFromProto(
      viaWire(RtpCapabilitiesMessage, rtpCapabilitiesToProto(capabilities)),
    );
    expect(back).toEqual(capabilities);
    expect(back.codecs?.[1].parameters?.['profile-level-id']).toBe('42e01f');
  });

  it('refuses an unspecified media kind', () => {
    expect(mediaKindFromProto(MediaKind.MEDIA_KIND_UNSPECIFIED)).toBeUndefined();
    expect(mediaKindFromProto(MediaKind.MEDIA_KIND_AUDIO)).toBe('audio');
  });
});
