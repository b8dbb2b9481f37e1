/**
 * Noise suppression for a microphone track, in the browser: RNNoise (a small recurrent network
 * made for speech, compiled to WebAssembly) in an AudioWorklet, from @sapphi-red/web-noise-
 * suppressor, whose worklet and WebAssembly our UI serves (see src/vendor.ts). Its output track is
 * what is sent. RNNoise works on 48 kHz audio, 10 ms frames.
 */

const BASE = '/vendor/noise-suppressor/';

let wasm: Promise<ArrayBuffer> | undefined;

export class NoiseSuppression {
  /** The cleaned-up audio, to send. */
  readonly track: MediaStreamTrack;
  readonly #context: AudioContext;
  readonly #node: AudioWorkletNode & { destroy(): void };
  #closed = false;

  private constructor(
    context: AudioContext,
    node: AudioWorkletNode & { destroy(): void },
    track: MediaStreamTrack,
  ) {
    this.#context = context;
    this.#node = node;
    this.track = track;
  }

  /** Suppresses the noise of `source` (the microphone's own track, which the caller keeps). */
  static async create(source: MediaStreamTrack): Promise<NoiseSuppression> {
    const { loadRnnoise, RnnoiseWorkletNode } = await import('@sapphi-red/web-noise-suppressor');
    wasm ??= loadRnnoise({ url: `${BASE}rnnoise.wasm`, simdUrl: `${BASE}rnnoise_simd.wasm` }).catch(
      (error: unknown) => {
        wasm = undefined;
        throw error;
      },
    );
    const context = new AudioContext({ sampleRate: 48_000 });
    try {
      const [wasmBinary] = await Promise.all([
        wasm,
        context.audioWorklet.addModule(`${BASE}rnnoise-worklet.js`),
      ]);
      const node = new RnnoiseWorkletNode(context, { wasmBinary, maxChannels: 1 });
      const destination = context.createMediaStreamDestination();
      context
        .createMediaStreamSource(new MediaStream([source]))
        .connect(node)
        .connect(destination);
      // Started by the click that turned it on (autoplay rules); `resume()` again on Join.
      void context.resume().catch(() => {});
      return new NoiseSuppression(context, node, destination.stream.getAudioTracks()[0]);
    } catch (error) {
      void context.close();
      throw error;
    }
  }

  /** Starts the audio if the browser held it until a user gesture. */
  resume(): void {
    if (this.#context.state === 'suspended') {
      void this.#context.resume().catch(() => {});
    }
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.track.stop();
    this.#node.destroy();
    void this.#context.close().catch(() => {});
  }
}
