/**
 * Background blur for a camera track, in the browser: MediaPipe selfie segmentation (its model and
 * WebAssembly served by our UI from the npm package, see src/vendor.ts) finds the person in each
 * frame; a canvas draws the person sharp over the frame blurred, and its captured stream is the
 * track to send, at 15 frames a second on at most 640×360. Segmentation runs beside it, one frame
 * at a time, as fast as the machine allows: each output frame uses the latest mask, so a slow
 * machine gets a mask that lags a little, never a video that stutters. The model is given the frame
 * already shrunk to its own input size (256×144), and the background is blurred at a quarter of the
 * size and stretched back: far less pixel work than handing over and blurring the camera's frame.
 */

/** The package's files as the UI serves them (src/vendor.ts). */
const BASE = '/vendor/selfie-segmentation/';

/** What the blurred track carries at most (the segmentation model itself sees 256×144). */
const MAX_WIDTH = 640;
const MAX_HEIGHT = 360;
/** The landscape model's input. */
const MODEL_WIDTH = 256;
const MODEL_HEIGHT = 144;
const FPS = 15;
/** The background is blurred at this fraction of the frame's size, then stretched back. */
const BACKGROUND_SCALE = 4;
/** Blur radius on that small background (about 10 px at full size). */
const BLUR_PX = 2.5;

interface SegmentationResults {
  segmentationMask: CanvasImageSource;
}

interface Segmentation {
  setOptions(options: { modelSelection: number; selfieMode?: boolean }): void;
  onResults(listener: (results: SegmentationResults) => void): void;
  initialize(): Promise<void>;
  send(inputs: { image: HTMLCanvasElement }): Promise<void>;
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

/** A canvas and its 2D context. */
function canvas2d(
  width: number,
  height: number,
): { canvas: HTMLCanvasElement; context: CanvasRenderingContext2D } {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) {
    throw new Error('no 2D canvas in this browser');
  }
  return { canvas, context };
}

/**
 * The canvases of one blur: the model's input, the latest mask, the small blurred background, and
 * the output.
 */
class Compositor {
  readonly output: ReturnType<typeof canvas2d>;
  readonly #input = canvas2d(MODEL_WIDTH, MODEL_HEIGHT);
  readonly #mask = canvas2d(MODEL_WIDTH, MODEL_HEIGHT);
  #masked = false;
  readonly #background: ReturnType<typeof canvas2d>;
  readonly #video: HTMLVideoElement;

  constructor(video: HTMLVideoElement, width: number, height: number) {
    this.#video = video;
    this.output = canvas2d(width, height);
    this.#background = canvas2d(Math.ceil(width / BACKGROUND_SCALE), Math.ceil(height / BACKGROUND_SCALE));
    this.#background.context.filter = `blur(${BLUR_PX}px)`;
    this.#mask.context.globalCompositeOperation = 'copy';
  }

  /** The camera's current frame at the model's input size. */
  capture(): HTMLCanvasElement {
    this.#input.context.drawImage(this.#video, 0, 0, MODEL_WIDTH, MODEL_HEIGHT);
    return this.#input.canvas;
  }

  /** Keeps the model's latest mask (its own canvas is reused for the next frame). */
  setMask(mask: CanvasImageSource): void {
    this.#mask.context.drawImage(mask, 0, 0, MODEL_WIDTH, MODEL_HEIGHT);
    this.#masked = true;
  }

  /**
   * One output frame: the person (where the latest mask is) sharp, over the frame blurred. Until
   * the first mask, all of it blurred (the room behind is never shown unblurred).
   */
  draw(): void {
    const video = this.#video;
    const { canvas, context } = this.output;
    const { width, height } = canvas;
    const small = this.#background;
    // Drawn past the edges, so the blur does not fade the frame's border to transparent.
    const pad = BLUR_PX * 2;
    small.context.drawImage(video, -pad, -pad, small.canvas.width + 2 * pad, small.canvas.height + 2 * pad);
    if (this.#masked) {
      context.globalCompositeOperation = 'copy';
      context.drawImage(this.#mask.canvas, 0, 0, width, height);
      context.globalCompositeOperation = 'source-in';
      context.drawImage(video, 0, 0, width, height);
      context.globalCompositeOperation = 'destination-over';
    } else {
      context.globalCompositeOperation = 'copy';
    }
    context.drawImage(small.canvas, 0, 0, width, height);
  }
}

export class BackgroundBlur {
  /** The blurred video, to preview and to send. */
  readonly track: MediaStreamTrack;
  readonly #segmentation: Segmentation;
  readonly #video: HTMLVideoElement;
  readonly #compositor: Compositor;
  #timer?: ReturnType<typeof setTimeout>;
  readonly #drawing: ReturnType<typeof setInterval>;
  #closed = false;

  private constructor(segmentation: Segmentation, video: HTMLVideoElement, compositor: Compositor) {
    this.#segmentation = segmentation;
    this.#video = video;
    this.#compositor = compositor;
    this.track = compositor.output.canvas.captureStream(FPS).getVideoTracks()[0];
    this.track.contentHint = 'motion';
    compositor.draw();
    this.#drawing = setInterval(() => compositor.draw(), 1000 / FPS);
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
    const compositor = new Compositor(
      video,
      Math.round((settings.width ?? MAX_WIDTH) * scale),
      Math.round((settings.height ?? MAX_HEIGHT) * scale),
    );
    segmentation.onResults((results) => compositor.setMask(results.segmentationMask));
    try {
      await segmentation.initialize();
    } catch (error) {
      await segmentation.close().catch(() => {});
      throw error;
    }
    const blur = new BackgroundBlur(segmentation, video, compositor);
    blur.#loop();
    return blur;
  }

  /** Segments one frame at a time (a slow machine segments fewer, never a queue of them). */
  #loop(): void {
    const started = performance.now();
    void this.#segmentation
      .send({ image: this.#compositor.capture() })
      .catch(() => {})
      .finally(() => {
        if (!this.#closed) {
          // Segmentation runs on the page's main thread: after a slow one (software graphics),
          // wait twice as long as it took, so drawing the video, the call's own work (its
          // connection, its requests) and the page keep two thirds of that thread. A machine
          // that segmented half the time starved the rest: on 2 loaded cores its blurred video
          // fell to one or two frames a second, and once the others saw it reconnecting.
          const took = performance.now() - started;
          const wait = Math.max(1000 / FPS - took, 2 * took);
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
    clearInterval(this.#drawing);
    this.track.stop();
    this.#video.srcObject = null;
    void this.#segmentation.close().catch(() => {});
  }
}
