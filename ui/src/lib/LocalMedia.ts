/**
 * This participant's own camera and microphone: which devices (chosen on the pre-join screen or
 * during the call, remembered in this browser), their tracks, the background blur and noise
 * suppression over them, and a microphone level. The tracks to send are `snapshot().stream`;
 * `onTrack` listeners (the call) hear when one is replaced, so the call can swap it on its
 * producer without renegotiating. A device unplugged mid-call is replaced by another of its
 * kind, with a notice. UI strings for what went wrong are the components' (the snapshot says
 * what happened).
 */
import { BackgroundBlur } from './effects/BackgroundBlur';
import { NoiseSuppression } from './effects/NoiseSuppression';

export type LocalKind = 'audio' | 'video';

export interface DeviceOption {
  deviceId: string;
  label: string;
}

/** An effect is off, being started (loading its model), or on. */
export type EffectState = 'off' | 'starting' | 'on';

/** What happened to the devices that the person should know (shown by the page). */
export type DeviceEvent =
  | { type: 'switched'; kind: LocalKind; label: string }
  | { type: 'lost'; kind: LocalKind }
  | { type: 'effectFailed'; effect: 'blur' | 'noiseSuppression'; message: string }
  | { type: 'switchFailed'; kind: LocalKind; message: string };

export interface LocalMediaSnapshot {
  /** The tracks to preview and send (a new object whenever one changes). */
  stream: MediaStream;
  /** The first attempt at the devices is over (the stream may still be empty). */
  ready: boolean;
  /** Why there is no camera, or no microphone either (the getUserMedia error). */
  missing?: { camera: boolean; microphone: boolean; message: string };
  cameras: DeviceOption[];
  microphones: DeviceOption[];
  /** Audio outputs (listed only where the browser can choose one: setSinkId). */
  speakers: DeviceOption[];
  camera?: string;
  microphone?: string;
  speaker?: string;
  blur: EffectState;
  noiseSuppression: EffectState;
  /** The latest device event, until the next one or `dismiss()`. */
  event?: DeviceEvent;
}

/** What this browser remembers between calls. */
interface Choices {
  camera?: string;
  microphone?: string;
  speaker?: string;
  blur?: boolean;
  noiseSuppression?: boolean;
}

const STORAGE_KEY = 'sb:media';

function loadChoices(): Choices {
  try {
    return (JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Choices) ?? {};
  } catch {
    return {};
  }
}

/**
 * The device to fall back to when `lostId` went away: the browser's default if it is another
 * one, else the first other device of that kind.
 */
export function fallbackDevice(
  devices: DeviceOption[],
  lostId: string | undefined,
): DeviceOption | undefined {
  const others = devices.filter((d) => d.deviceId !== lostId);
  return others.find((d) => d.deviceId === 'default') ?? others[0];
}

function options(devices: MediaDeviceInfo[], kind: MediaDeviceKind, name: string): DeviceOption[] {
  return devices
    .filter((d) => d.kind === kind && d.deviceId)
    .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${name} ${i + 1}` }));
}

/** Told of a replaced track; the old one is stopped once every listener's promise settles. */
type TrackListener = (kind: LocalKind, track: MediaStreamTrack | undefined) => Promise<void> | void;

export interface LocalMediaOptions {
  /** The camera's size and rate (the device is added to it). */
  video: MediaTrackConstraints;
  onChange: () => void;
}

export class LocalMedia {
  readonly #video: MediaTrackConstraints;
  readonly #onChange: () => void;
  readonly #raw: Partial<Record<LocalKind, MediaStreamTrack>> = {};
  readonly #trackListeners = new Set<TrackListener>();
  #choices: Choices = loadChoices();
  #blur?: BackgroundBlur;
  #noise?: NoiseSuppression;
  #effects: { blur: EffectState; noiseSuppression: EffectState } = { blur: 'off', noiseSuppression: 'off' };
  #devices: MediaDeviceInfo[] = [];
  #stream = new MediaStream();
  #ready = false;
  #missing?: LocalMediaSnapshot['missing'];
  #event?: DeviceEvent;
  #meter?: {
    context: AudioContext;
    analyser: AnalyserNode;
    samples: Float32Array<ArrayBuffer>;
    track: MediaStreamTrack;
  };
  #closed = false;

  private constructor(opts: LocalMediaOptions) {
    this.#video = opts.video;
    this.#onChange = opts.onChange;
  }

  /** Opens the remembered (or default) camera and microphone; whatever fails is said in `missing`. */
  static async open(opts: LocalMediaOptions): Promise<LocalMedia> {
    const media = new LocalMedia(opts);
    await media.#open();
    return media;
  }

  async #open(): Promise<void> {
    const { camera, microphone } = this.#choices;
    // The remembered devices exactly; if one is gone, the browser's choice; then less.
    const attempts: MediaStreamConstraints[] = [
      ...(camera || microphone
        ? [
            {
              audio: microphone ? { deviceId: { exact: microphone } } : true,
              video: { ...this.#video, ...(camera && { deviceId: { exact: camera } }) },
            },
          ]
        : []),
      { audio: true, video: this.#video },
    ];
    let stream: MediaStream | undefined;
    for (const constraints of attempts) {
      try {
        stream = await navigator.mediaDevices.getUserMedia(constraints);
        break;
      } catch (error) {
        this.#missing = { camera: true, microphone: false, message: (error as Error).message };
      }
    }
    if (!stream) {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (error) {
        this.#missing = { camera: true, microphone: true, message: (error as Error).message };
      }
    } else {
      this.#missing = undefined;
    }
    if (this.#closed) {
      stream?.getTracks().forEach((t) => t.stop());
      return;
    }
    for (const track of stream?.getTracks() ?? []) {
      this.#setRaw(track.kind as LocalKind, track);
    }
    navigator.mediaDevices.addEventListener('devicechange', this.#devicesChanged);
    await this.#listDevices();
    this.#ready = true;
    void this.#rebuild([]);
    if (this.#choices.blur && this.#raw.video) {
      void this.setBlur(true);
    }
    if (this.#choices.noiseSuppression && this.#raw.audio) {
      void this.setNoiseSuppression(true);
    }
  }

  snapshot(): LocalMediaSnapshot {
    const devices = this.#devices;
    const canChooseSpeaker =
      typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
    return {
      stream: this.#stream,
      ready: this.#ready,
      missing: this.#missing,
      cameras: options(devices, 'videoinput', 'Camera'),
      microphones: options(devices, 'audioinput', 'Microphone'),
      speakers: canChooseSpeaker ? options(devices, 'audiooutput', 'Speaker') : [],
      camera: this.#raw.video?.getSettings().deviceId,
      microphone: this.#raw.audio?.getSettings().deviceId,
      speaker: this.#choices.speaker,
      blur: this.#effects.blur,
      noiseSuppression: this.#effects.noiseSuppression,
      event: this.#event,
    };
  }

  /** Tells `listener` whenever the track to send of a kind is replaced (or gone: undefined). */
  onTrack(listener: TrackListener): () => void {
    this.#trackListeners.add(listener);
    return () => this.#trackListeners.delete(listener);
  }

  /** The track to send of `kind`: the effect's output when it is on, else the device's. */
  track(kind: LocalKind): MediaStreamTrack | undefined {
    return kind === 'video'
      ? (this.#blur?.track ?? this.#raw.video)
      : (this.#noise?.track ?? this.#raw.audio);
  }

  async setCamera(deviceId: string): Promise<void> {
    await this.#switch('video', deviceId);
  }

  async setMicrophone(deviceId: string): Promise<void> {
    await this.#switch('audio', deviceId);
  }

  /** The audio output for the others' voices (the page applies it to its media elements). */
  setSpeaker(deviceId: string): void {
    this.#remember({ speaker: deviceId });
    this.#onChange();
  }

  async setBlur(on: boolean): Promise<void> {
    await this.#setEffect('blur', on);
  }

  async setNoiseSuppression(on: boolean): Promise<void> {
    await this.#setEffect('noiseSuppression', on);
  }

  /** Forgets the last device event (the person read it). */
  dismiss(): void {
    this.#event = undefined;
    this.#onChange();
  }

  /**
   * The microphone's level now, 0 (silent) to 1, of what is sent. Audio contexts start with a
   * user gesture in some browsers: call `resume()` from one (Join does).
   */
  level(): number {
    const track = this.track('audio');
    if (!track || track.readyState === 'ended') {
      return 0;
    }
    if (this.#meter?.track !== track) {
      void this.#meter?.context.close().catch(() => {});
      const context = new AudioContext();
      const analyser = context.createAnalyser();
      analyser.fftSize = 512;
      context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      this.#meter = { context, analyser, samples: new Float32Array(analyser.fftSize), track };
    }
    const { analyser, samples } = this.#meter;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) {
      sum += v * v;
    }
    // RMS in dBFS mapped from -60..0 to 0..1.
    const db = 20 * Math.log10(Math.sqrt(sum / samples.length) || 1e-6);
    return Math.max(0, Math.min(1, (db + 60) / 60));
  }

  /** Starts audio processing the browser held until a user gesture (call from a click). */
  resume(): void {
    this.#noise?.resume();
    if (this.#meter?.context.state === 'suspended') {
      void this.#meter.context.resume().catch(() => {});
    }
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    navigator.mediaDevices?.removeEventListener('devicechange', this.#devicesChanged);
    this.#blur?.close();
    this.#noise?.close();
    for (const track of Object.values(this.#raw)) {
      track.stop();
    }
    void this.#meter?.context.close().catch(() => {});
    this.#trackListeners.clear();
  }

  async #switch(kind: LocalKind, deviceId: string, event?: DeviceEvent): Promise<void> {
    const current = this.#raw[kind];
    if (current && current.readyState === 'live' && current.getSettings().deviceId === deviceId) {
      return;
    }
    let track: MediaStreamTrack;
    try {
      const stream = await navigator.mediaDevices.getUserMedia(
        kind === 'video'
          ? { video: { ...this.#video, deviceId: { exact: deviceId } } }
          : { audio: { deviceId: { exact: deviceId } } },
      );
      track = stream.getTracks()[0];
    } catch (error) {
      this.#event = { type: 'switchFailed', kind, message: (error as Error).message };
      this.#onChange();
      throw error;
    }
    if (this.#closed) {
      track.stop();
      return;
    }
    // The old track (and the effect over it) stops only once the call sends the new one: a
    // sender whose track ended before the swap may not send again.
    const retired: (() => void)[] = current ? [() => current.stop()] : [];
    this.#setRaw(kind, track);
    this.#remember(kind === 'video' ? { camera: deviceId } : { microphone: deviceId });
    if (kind === 'video' && this.#blur) {
      const old = this.#blur;
      retired.push(() => old.close());
      this.#blur = undefined;
      await this.#startEffect('blur');
    } else if (kind === 'audio' && this.#noise) {
      const old = this.#noise;
      retired.push(() => old.close());
      this.#noise = undefined;
      await this.#startEffect('noiseSuppression');
    }
    if (event) {
      this.#event = event;
    }
    await this.#rebuild([kind]);
    retired.forEach((retire) => retire());
  }

  #setRaw(kind: LocalKind, track: MediaStreamTrack): void {
    this.#raw[kind] = track;
    if (kind === 'video') {
      this.#missing = this.#missing && { ...this.#missing, camera: false };
    }
    // Unplugged (or taken by the system): another device of its kind takes over.
    track.addEventListener('ended', () => void this.#lost(kind, track));
  }

  async #lost(kind: LocalKind, track: MediaStreamTrack): Promise<void> {
    if (this.#closed || this.#raw[kind] !== track) {
      return;
    }
    await this.#listDevices();
    const lostId = track.getSettings().deviceId;
    const devices =
      kind === 'video'
        ? options(this.#devices, 'videoinput', 'Camera')
        : options(this.#devices, 'audioinput', 'Microphone');
    const next = fallbackDevice(devices, lostId);
    if (next) {
      try {
        await this.#switch(kind, next.deviceId, { type: 'switched', kind, label: next.label });
        return;
      } catch {
        // fall through: nothing to switch to
      }
    }
    if (this.#raw[kind] === track) {
      delete this.#raw[kind];
      if (kind === 'video') {
        this.#blur?.close();
        this.#blur = undefined;
        this.#effects.blur = 'off';
      } else {
        this.#noise?.close();
        this.#noise = undefined;
        this.#effects.noiseSuppression = 'off';
      }
      this.#event = { type: 'lost', kind };
      await this.#rebuild([kind]);
    }
  }

  async #setEffect(effect: 'blur' | 'noiseSuppression', on: boolean): Promise<void> {
    this.#remember({ [effect]: on });
    const kind: LocalKind = effect === 'blur' ? 'video' : 'audio';
    if (!on) {
      const old = effect === 'blur' ? this.#blur : this.#noise;
      if (effect === 'blur') {
        this.#blur = undefined;
      } else {
        this.#noise = undefined;
      }
      this.#effects[effect] = 'off';
      await this.#rebuild([kind]); // the camera's own track is sent again before the effect stops
      old?.close();
      return;
    }
    if (this.#effects[effect] !== 'off' || !this.#raw[kind]) {
      return;
    }
    await this.#startEffect(effect);
    await this.#rebuild([kind]);
  }

  async #startEffect(effect: 'blur' | 'noiseSuppression'): Promise<void> {
    const source = this.#raw[effect === 'blur' ? 'video' : 'audio'];
    if (!source) {
      return;
    }
    this.#effects[effect] = 'starting';
    this.#onChange();
    try {
      if (effect === 'blur') {
        const blur = await BackgroundBlur.create(source);
        if (this.#closed || this.#raw.video !== source || this.#effects.blur !== 'starting') {
          blur.close();
          return;
        }
        this.#blur = blur;
      } else {
        const noise = await NoiseSuppression.create(source);
        if (this.#closed || this.#raw.audio !== source || this.#effects.noiseSuppression !== 'starting') {
          noise.close();
          return;
        }
        this.#noise = noise;
      }
      this.#effects[effect] = 'on';
    } catch (error) {
      this.#effects[effect] = 'off';
      this.#event = { type: 'effectFailed', effect, message: (error as Error).message };
    }
  }

  /**
   * A new stream object with the tracks to send; the call hears of each replaced kind. Resolves
   * once every listener has taken the new track.
   */
  async #rebuild(changed: LocalKind[]): Promise<void> {
    const tracks = [this.track('audio'), this.track('video')].filter((t) => t !== undefined);
    this.#stream = new MediaStream(tracks);
    this.#onChange();
    const taking: (Promise<void> | void)[] = [];
    for (const kind of changed) {
      for (const listener of this.#trackListeners) {
        taking.push(listener(kind, this.track(kind)));
      }
    }
    await Promise.allSettled(taking);
  }

  #remember(change: Choices): void {
    this.#choices = { ...this.#choices, ...change };
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.#choices));
    } catch {
      // storage full or disabled: remembered for this page only
    }
  }

  readonly #devicesChanged = (): void => {
    void this.#listDevices().then(() => this.#onChange());
  };

  async #listDevices(): Promise<void> {
    this.#devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  }
}
