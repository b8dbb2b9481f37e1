/**
 * What only the browser can measure, for the SLIs of docs/slo.md: the time from joining to the
 * first decoded video of someone else (`reportFirstFrame`). Counted once per join (a peer state
 * is one join), so a client cannot weigh the histogram by repeating itself; the value is bounded
 * by the request schema (0-120 s). A lying client can still skew its own one sample.
 */
import type { client as prom } from '@switchboard/metrics';
import { joinedPeer, type PeerSocket, type PeerState } from './peer';

/** Seconds: the SLO's threshold (2.5 s) is a bucket boundary. */
export const FIRST_FRAME_BUCKETS = [0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20, 60, 120];

export class ClientTimings {
  readonly #histogram: prom.Histogram;
  readonly #reported = new WeakSet<PeerState>();

  constructor(histogram: prom.Histogram) {
    this.#histogram = histogram;
  }

  firstFrame(socket: PeerSocket, ms: number): { recorded: boolean } {
    const peer = joinedPeer(socket);
    if (this.#reported.has(peer)) {
      return { recorded: false };
    }
    this.#reported.add(peer);
    this.#histogram.observe(ms / 1000);
    return { recorded: true };
  }
}
