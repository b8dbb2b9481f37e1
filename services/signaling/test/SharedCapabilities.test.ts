/**
 * Unit: peers sending the same RTP capabilities share one frozen protobuf copy (what Consume
 * takes, equal to a plain conversion); different ones get their own; the least recently used goes
 * beyond the kept kinds, and capabilities too large to keep are converted but not kept. The consume
 * path over real gRPC with these: MediaPlane.test.
 */
import { describe, expect, it } from 'vitest';
import { rtpCapabilitiesToProto } from '@switchboard/proto';
import type { RtpCapabilities } from '@switchboard/protocol';
import { SharedCapabilities } from '../src/SharedCapabilities';

const caps = (clockRate: number, extra = ''): RtpCapabilities => ({
  codecs: [
    { kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2 },
    {
      kind: 'video',
      mimeType: 'video/VP8',
      preferredPayloadType: 101,
      clockRate,
      parameters: extra ? { note: extra } : {},
      rtcpFeedback: [{ type: 'nack', parameter: 'pli' }],
    },
  ],
  headerExtensions: [{ kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1 }],
});

describe('SharedCapabilities', () => {
  it('gives peers with the same capabilities one frozen copy, equal to a plain conversion', () => {
    const shared = new SharedCapabilities();
    const first = shared.of(caps(90000));
    expect(first).toEqual(rtpCapabilitiesToProto(caps(90000)));
    expect(shared.of(caps(90000))).toBe(first); // another peer, its own (equal) objects
    expect(Object.isFrozen(first.codecs[1].rtcpFeedback[0])).toBe(true);
    expect(shared.of(caps(45000))).not.toBe(first);
    expect(shared.size).toBe(2);
  });

  it('forgets the least recently used kind beyond its bound, and keeps no oversized capabilities', () => {
    const shared = new SharedCapabilities({ maxKinds: 2, maxBytes: 2000 });
    const a = shared.of(caps(1));
    shared.of(caps(2));
    expect(shared.of(caps(1))).toBe(a); // used again: now the most recent
    shared.of(caps(3)); // the third kind: 2 goes, not 1
    expect(shared.of(caps(1))).toBe(a);
    expect(shared.size).toBe(2);
    const huge = caps(4, 'x'.repeat(3000));
    const made = shared.of(huge);
    expect(made).toEqual(rtpCapabilitiesToProto(huge));
    expect(shared.of(huge)).not.toBe(made);
    expect(shared.size).toBe(2);
  });
});
