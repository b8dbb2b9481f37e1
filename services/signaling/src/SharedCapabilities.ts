/**
 * The peers' RTP capabilities as the media node's Consume takes them, one frozen copy per distinct
 * value. Browsers of one kind and version send the same capabilities, which as objects cost 4-5 KB
 * a peer (a sixth of a joined connection's heap) and were converted to protobuf again at every
 * consume. At most `maxKinds` distinct values are kept, the least recently used going first,
 * and none larger than `maxBytes` as JSON (a browser's are 3-6 KB): a client sending odd or huge
 * capabilities costs only its own copy, as before, and cannot make the cache hold much.
 */
import {
  deepFreeze,
  rtpCapabilitiesToProto,
  type RtpCapabilities as ProtoCapabilities,
} from '@switchboard/proto';
import type { RtpCapabilities } from '@switchboard/protocol';

export class SharedCapabilities {
  readonly #known = new Map<string, ProtoCapabilities>();
  readonly #maxKinds: number;
  readonly #maxBytes: number;

  constructor({ maxKinds = 256, maxBytes = 32 * 1024 } = {}) {
    this.#maxKinds = maxKinds;
    this.#maxBytes = maxBytes;
  }

  /** The shared (frozen) protobuf form of `caps`. */
  of(caps: RtpCapabilities): ProtoCapabilities {
    const key = JSON.stringify(caps);
    const known = this.#known.get(key);
    if (known) {
      this.#known.delete(key); // most recently used last
      this.#known.set(key, known);
      return known;
    }
    const made = deepFreeze(rtpCapabilitiesToProto(caps));
    if (key.length > this.#maxBytes) {
      return made;
    }
    if (this.#known.size >= this.#maxKinds) {
      this.#known.delete(this.#known.keys().next().value as string);
    }
    this.#known.set(key, made);
    return made;
  }

  /** How many distinct values are kept. */
  get size(): number {
    return this.#known.size;
  }
}
