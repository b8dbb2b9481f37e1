/**
 * Background blur for a camera track, in the browser: MediaPipe selfie segmentation (its model and
 * WebAssembly served by our UI from the npm package, see src/vendor.ts) finds the person in each
 * frame; a canvas draws the person sharp over the frame blurred, and its captured stream is the
 * track to send. Segmentation runs at up to 15 frames a second on at most 640×360.
 */

/** The package's files as the UI serves them (src/vendor.ts). */
const BASE = '/vendor/selfie-segmentation/';

/** What the blurred track carries at most (the segmentation model itself sees 256×144). */
const MAX_WIDTH = 640;
const MAX_HEIGHT = 360;
const FPS = 15;
const BLUR_PX = 10;

interface SegmentationResults {
  image: CanvasImageSource;
  segmentationMask: CanvasImageSource;
}

interface Segmentation {
  setOptions(options: { modelSelection: number; selfieMode?: boolean }): void;
  onResults(listener: (results: SegmentationResults) => void): void;
  initialize(): Promise<void>;
  send(inputs: { image: HTMLVideoElement }): Promise<void>;
  close(): Promise<void>;
}

type SegmentationConstructor = new (config: { locateFile: (file: string) => string }) => Segmentation;

let loading: Promise<SegmentationConstructor> | undefined;

/** Loads MediaPipe's script once (it defines `window.SelfieSegmentation`). */
function loadSegmentation(): Promise<SegmentationConstructor> {
  loading ??= new Promise<SegmentationConstructor>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = `${BASE}selfie_segmentation.js`;
    script.async = true;
    script.onload = () => {
      const ctor = (window as unknown as { SelfieSegmentation?: SegmentationConstructor }).SelfieSegmentation;
      if (ctor) {
        resolve(ctor);
      } else {
        reject(new Error('the segmentation script did not load'));
      }
    };
    script.onerror = () => reject(new Error('the segmentation script could not be fetched'));
    document.head.append(script);
  }).catch((error: unknown) => {
    loading = undefined; // try again next time
    throw error;
  });
  return loading;
}

export class BackgroundBlur {
  /** The blurred video, to preview and to send. */
  readonly track: MediaStreamTrack;
  readonly #segmentation: Segmentation;
  readonly #video: HTMLVideoElement;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  private constructor(segmentation: Segmentation, video: HTMLVideoElement, canvas: HTMLCanvasElement) {
    this.#segmentation = segmentation;
    this.#video = video;
    this.track = canvas.captureStream(FPS).getVideoTracks()[0];
    this.track.contentHint = 'motion';
  }

  /** Blurs the background of `source` (the camera's own track, which the caller keeps). */
  static async create(source: MediaStreamTrack): Promise<BackgroundBlur> {
    const Ctor = await loadSegmentation();
    const segmentation = new Ctor({ locateFile: (file) => `${BASE}${file}` });
    // Model 1 ("landscape", 256×144): faster, made for video calls.
    segmentation.setOptions({ modelSelection: 1 });
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([source]);
    await video.play();
    const settings = source.getSettings();
    const scale = Math.min(
      1,
      MAX_WIDTH / (settings.width ?? MAX_WIDTH),
      MAX_HEIGHT / (settings.height ?? MAX_HEIGHT),
    );
    const canvas = document.createElement('canvas');
    canvas.width = Math.round((settings.width ?? MAX_WIDTH) * scale);
    canvas.height = Math.round((settings.height ?? MAX_HEIGHT) * scale);
    const context = canvas.getContext('2d');
    if (!context) {
      throw new Error('no 2D canvas in this browser');
    }
    segmentation.onResults((results) => BackgroundBlur.#draw(context, canvas, results));
    try {
      await segmentation.initialize();
    } catch (error) {
      await segmentation.close().catch(() => {});
      throw error;
    }
    const blur = new BackgroundBlur(segmentation, video, canvas);
    blur.#loop();
    return blur;
  }

  /** The person (where the mask is) sharp, over the whole frame blurred. */
  static #draw(
    context: CanvasRenderingContext2D,
    canvas: HTMLCanvasElement,
    results: SegmentationResults,
  ): void {
    const { width, height } = canvas;
    context.save();
    context.globalCompositeOperation = 'copy';
    context.filter = 'none';
    context.drawImage(results.segmentationMask, 0, 0, width, height);
    context.globalCompositeOperation = 'source-in';
    context.drawImage(results.image, 0, 0, width, height);
    context.globalCompositeOperation = 'destination-over';
    context.filter = `blur(${BLUR_PX}px)`;
    // Drawn past the edges, so the blur does not fade the frame's border to transparent.
    const pad = BLUR_PX * 2;
    context.drawImage(results.image, -pad, -pad, width + 2 * pad, height + 2 * pad);
    context.restore();
  }

  /** One frame at a time (a slow machine segments fewer frames, never a queue of them). */
  #loop(): void {
    const started = performance.now();
    void this.#segmentation
      .send({ image: this.#video })
      .catch(() => {})
      .finally(() => {
        if (!this.#closed) {
          const wait = Math.max(0, 1000 / FPS - (performance.now() - started));
          this.#timer = setTimeout(() => this.#loop(), wait);
        }
      });
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearTimeout(this.#timer);
    this.track.stop();
    this.#video.srcObject = null;
    void this.#segmentation.close().catch(() => {});
  }
}
