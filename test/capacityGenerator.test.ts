/**
 * The capacity bench's cheap generator (bench/loadtest/RtpPeer.ts, RtpLink.ts) against a real
 * mediasoup worker: a publisher's SRTP reaches the SFU, a subscriber connects (ICE, DTLS) and
 * counts what it is forwarded, at the top simulcast layer, without loss; a server whose
 * certificate does not match its fingerprint is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpLink } from '../bench/loadtest/RtpLink';
import { RtpPeer } from '../bench/loadtest/RtpPeer';
import { BareReference } from '../bench/loadtest/signals';

const TOP_LAYER_BPS = 1_200_000;

describe('capacity generator (RtpPeer over a real mediasoup worker)', () => {
  let reference: BareReference;

  beforeAll(async () => {
    // A fixed WebRtcServer port below the ephemeral range, clear of the other suites' ports.
    reference = await BareReference.start(1, { min: 32600, max: 32609 }, { webRtcServer: true });
  });

  afterAll(() => reference.close());

  it('forwards a publisher to a subscriber at the top layer, counted without loss', async () => {
    const publisher = await RtpPeer.join(reference.signal('room'), {
      publish: true,
      subscribe: false,
      bitrate: TOP_LAYER_BPS,
    });
    const subscriber = await RtpPeer.join(reference.signal('room'), {
      publish: false,
      subscribe: true,
      bitrate: TOP_LAYER_BPS,
    });
    try {
      expect(subscriber.consumers).toHaveLength(2);
      // The consumers start at the next key frame (one a second on each layer).
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const start = subscriber.received();
      const owedStart = publisher.sentForEachSubscriber();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const end = subscriber.received();
      const owed = publisher.sentForEachSubscriber() - owedStart;
      // What the publisher sent for each subscriber (audio and top layer) arrived.
      expect((end.packets - start.packets) / owed).toBeGreaterThan(0.95);
      const bps = ((end.bytes - start.bytes) * 8) / 2;
      // Audio ~50 packets/s plus video at the top layer (a lower one would be a third of it).
      expect(end.packets - start.packets).toBeGreaterThan(2 * (50 + 100));
      expect(bps).toBeGreaterThan(0.8 * TOP_LAYER_BPS);
      expect(end.lost).toBe(0);
    } finally {
      subscriber.close();
      publisher.close();
    }
  });

  it('refuses a server whose certificate does not match the fingerprint it gave', async () => {
    const signal = reference.signal('another room');
    await signal.join({ codecs: [], headerExtensions: [] });
    const { options } = await signal.createTransport(false);
    await signal.connect(options.id, await RtpLink.dtlsParameters());
    const lying = {
      ...options,
      dtlsParameters: {
        fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }],
      },
    };
    await expect(RtpLink.open(lying as never)).rejects.toThrow(/does not match its fingerprint/);
    signal.close();
  });
});
