/**
 * WebRTC without a browser, for integration tests and the load test: libwebrtc for Node
 * (@roamhq/wrtc) installed where mediasoup-client's Chrome handler looks for it, and synthetic
 * media (a moving test pattern, a tone) so the SFU forwards real RTP.
 */
import wrtc from '@roamhq/wrtc';

let installed = false;

/** mediasoup-client's handler looks for the WebRTC classes where a browser has them. */
export function installWebRtcGlobals(): void {
  if (installed) {
    return;
  }
  installed = true;
  for (const [name, value] of Object.entries(wrtc)) {
    if (name.startsWith('RTC') || name.startsWith('Media')) {
      (globalThis as Record<string, unknown>)[name] = value;
    }
  }
}

/** A synthetic camera: a few precomputed I420 frames shown in turn (moving enough to encode). */
export function syntheticCamera(width: number, height: number, fps: number) {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const frames = [0, 1, 2, 3].map((shift) => {
    const frame = new Uint8Array((width * height * 3) / 2);
    for (let i = 0; i < frame.length; i++) {
      frame[i] = (i * 7 + shift * 31 + (i >> 9) * 13) & 255;
    }
    return frame;
  });
  let n = 0;
  const timer = setInterval(
    () => source.onFrame({ width, height, data: frames[n++ % frames.length] }),
    1000 / fps,
  );
  return { track: source.createTrack(), stop: () => clearInterval(timer) };
}

/** A synthetic microphone: a 440 Hz tone in 10 ms chunks. */
export function syntheticMicrophone(amplitude: number) {
  const source = new wrtc.nonstandard.RTCAudioSource();
  const sampleRate = 48_000;
  const samples = new Int16Array(sampleRate / 100);
  let t = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < samples.length; i++) {
      samples[i] = Math.sin((t++ * 2 * Math.PI * 440) / sampleRate) * amplitude;
    }
    source.onData({
      samples,
      sampleRate,
      bitsPerSample: 16,
      channelCount: 1,
      numberOfFrames: samples.length,
    });
  }, 10);
  return { track: source.createTrack(), stop: () => clearInterval(timer) };
}
