/**
 * Unit: MediaService's real GetRouterRtpCapabilities (de)serializers wrapped by encodingOnce and
 * decodingRepeats: a frozen answer's bytes are made once and are the plain encoding; anything
 * not frozen is encoded every time; equal bytes give back the same deep-frozen value, different
 * bytes a new one, and a reused receive buffer cannot change a remembered answer. The media node's
 * and signaling's use over a real gRPC connection: MediaNode.test.
 */
import { describe, expect, it } from 'vitest';
import { decodingRepeats, deepFreeze, encodingOnce } from './answers';
import { rtpCapabilitiesToProto } from './convert';
import {
  MediaKind,
  MediaServiceService,
  type GetRouterRtpCapabilitiesResponse,
} from './gen/switchboard/media/v1/media';

const answer = (clockRate: number): GetRouterRtpCapabilitiesResponse => ({
  rtpCapabilities: rtpCapabilitiesToProto({
    codecs: [
      { kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2 },
      {
        kind: 'video',
        mimeType: 'video/VP8',
        preferredPayloadType: 101,
        clockRate,
        rtcpFeedback: [{ type: 'nack', parameter: 'pli' }],
      },
    ],
    headerExtensions: [],
  }),
});

const plain = MediaServiceService.getRouterRtpCapabilities;

describe('answers', () => {
  it('encodes a frozen answer once: the same bytes, which are the plain encoding', () => {
    const { responseSerialize } = encodingOnce(MediaServiceService, [
      'getRouterRtpCapabilities',
    ]).getRouterRtpCapabilities;
    const frozen = deepFreeze(answer(90000));
    const first = responseSerialize(frozen);
    expect(responseSerialize(frozen)).toBe(first);
    expect(first.equals(plain.responseSerialize(frozen))).toBe(true);
    // An answer that may still change is encoded each time.
    const open = answer(90000);
    const once = responseSerialize(open);
    open.rtpCapabilities!.codecs[1].clockRate = 80000;
    expect(responseSerialize(open)).not.toBe(once);
    expect(plain.responseDeserialize(responseSerialize(open)).rtpCapabilities?.codecs[1].clockRate).toBe(
      80000,
    );
  });

  it('leaves the other methods as generated', () => {
    const wrapped = encodingOnce(MediaServiceService, ['getRouterRtpCapabilities']);
    expect(wrapped.consume).toBe(MediaServiceService.consume);
    expect(decodingRepeats(MediaServiceService, ['getRouterRtpCapabilities']).produce).toBe(
      MediaServiceService.produce,
    );
  });

  it('decodes equal bytes once into a deep-frozen value, and different bytes anew', () => {
    const { responseDeserialize } = decodingRepeats(MediaServiceService, [
      'getRouterRtpCapabilities',
    ]).getRouterRtpCapabilities;
    const bytes = plain.responseSerialize(answer(90000));
    const received = Buffer.concat([Buffer.from([9, 9]), bytes]).subarray(2); // a view, as grpc-js gives
    const first = responseDeserialize(received);
    expect(first).toEqual(plain.responseDeserialize(bytes));
    expect(Object.isFrozen(first.rtpCapabilities?.codecs[1].rtcpFeedback[0])).toBe(true);
    expect(() => {
      (first.rtpCapabilities!.codecs[1] as { clockRate: number }).clockRate = 1;
    }).toThrow(TypeError);
    // grpc-js reuses its buffer for the next message: the remembered bytes are a copy.
    received.fill(0);
    expect(responseDeserialize(Buffer.from(bytes))).toBe(first);
    const other = responseDeserialize(plain.responseSerialize(answer(45000)));
    expect(other.rtpCapabilities?.codecs[1]).toMatchObject({
      kind: MediaKind.MEDIA_KIND_VIDEO,
      clockRate: 45000,
    });
  });
});
