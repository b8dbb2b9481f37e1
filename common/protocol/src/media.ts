/**
 * What our clients send, shared by the UI and the tests that act as clients: the camera's
 * simulcast encodings. Signaling's choice of layer by tile height (spatialLayerFor) assumes them.
 */

/** One RTCRtpEncodingParameters entry as mediasoup-client's `produce({ encodings })` takes it. */
export interface CameraEncoding {
  rid?: string;
  scaleResolutionDownBy?: number;
  maxBitrate?: number;
  scalabilityMode?: string;
}

/** Bitrate caps of the camera's layers, lowest resolution first (bps). */
const LAYER_BITRATES = [150_000, 500_000, 1_500_000];

/**
 * Simulcast for a camera sending `height` lines: three VP8 layers (a quarter, half and the full
 * height) from 540 lines, two from 270, otherwise one layer with three temporal layers.
 */
export function cameraEncodings(height: number | undefined): CameraEncoding[] {
  const count = (height ?? 0) >= 540 ? 3 : (height ?? 0) >= 270 ? 2 : 1;
  if (count === 1) {
    return [{ scalabilityMode: 'L1T3', maxBitrate: 800_000 }];
  }
  return LAYER_BITRATES.slice(3 - count).map((maxBitrate, i) => ({
    rid: `r${i}`,
    scaleResolutionDownBy: 2 ** (count - 1 - i),
    maxBitrate,
    scalabilityMode: 'L1T3',
  }));
}
