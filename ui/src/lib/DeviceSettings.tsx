'use client';

/**
 * Camera, microphone and speaker choice, background blur and noise suppression: on the pre-join
 * screen and in the call's settings panel (switching mid-call replaces the track the others
 * receive, without renegotiating). Device events (one unplugged, a switch that failed) are said
 * here in words.
 */
import { AudioLines, Sparkles } from 'lucide-react';
import { useEffect, useRef } from 'react';
import type { DeviceEvent, DeviceOption, LocalMedia, LocalMediaSnapshot } from './LocalMedia';

const KIND_NAMES = { audio: 'microphone', video: 'camera' } as const;

/** A device event in words. */
export function deviceEventText(event: DeviceEvent): string {
  switch (event.type) {
    case 'switched':
      return `Your ${KIND_NAMES[event.kind]} stopped; switched to ${event.label}.`;
    case 'lost':
      return `Your ${KIND_NAMES[event.kind]} stopped and no other was found.`;
    case 'switchFailed':
      return `Could not switch the ${KIND_NAMES[event.kind]} (${event.message}).`;
    case 'effectFailed':
      return `${event.effect === 'blur' ? 'Background blur' : 'Noise suppression'} could not start (${event.message}).`;
  }
}

function DeviceSelect({
  label,
  devices,
  value,
  onChange,
}: {
  label: string;
  devices: DeviceOption[];
  value?: string;
  onChange: (deviceId: string) => void;
}) {
  return (
    <label className="device">
      {label}
      <select
        value={value ?? ''}
        disabled={devices.length === 0}
        onChange={(event) => onChange(event.target.value)}
      >
        {devices.length === 0 && <option value="">None found</option>}
        {devices.map((d) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The microphone's level as a bar, drawn each frame without re-rendering the page. */
export function LevelMeter({ media }: { media: LocalMedia }) {
  const bar = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    let frame = 0;
    const draw = () => {
      if (bar.current) {
        bar.current.style.transform = `scaleX(${media.level()})`;
      }
      frame = requestAnimationFrame(draw);
    };
    frame = requestAnimationFrame(draw);
    return () => cancelAnimationFrame(frame);
  }, [media]);
  return (
    <span className="level-meter" role="img" aria-label="Microphone level">
      <span ref={bar} />
    </span>
  );
}

export function DeviceSettings({
  media,
  local,
  onError,
}: {
  media: LocalMedia;
  local: LocalMediaSnapshot;
  onError: (message: string) => void;
}) {
  const run = (action: Promise<void>) => action.catch((error: unknown) => onError((error as Error).message));
  return (
    <div className="devices">
      <DeviceSelect
        label="Camera"
        devices={local.cameras}
        value={local.camera}
        onChange={(id) => void run(media.setCamera(id))}
      />
      <DeviceSelect
        label="Microphone"
        devices={local.microphones}
        value={local.microphone}
        onChange={(id) => void run(media.setMicrophone(id))}
      />
      {local.microphone && <LevelMeter media={media} />}
      {local.speakers.length > 0 && (
        <DeviceSelect
          label="Speaker"
          devices={local.speakers}
          value={local.speaker ?? local.speakers[0]?.deviceId}
          onChange={(id) => media.setSpeaker(id)}
        />
      )}
      <div className="effects">
        <button
          type="button"
          className="secondary"
          aria-pressed={local.blur !== 'off'}
          disabled={!local.camera || local.blur === 'starting'}
          onClick={() => {
            media.resume();
            void run(media.setBlur(local.blur === 'off'));
          }}
        >
          <Sparkles size={16} aria-hidden />{' '}
          {local.blur === 'starting' ? 'Starting blur…' : 'Blur background'}
        </button>
        <button
          type="button"
          className="secondary"
          aria-pressed={local.noiseSuppression !== 'off'}
          disabled={!local.microphone || local.noiseSuppression === 'starting'}
          onClick={() => {
            media.resume();
            void run(media.setNoiseSuppression(local.noiseSuppression === 'off'));
          }}
        >
          <AudioLines size={16} aria-hidden />{' '}
          {local.noiseSuppression === 'starting' ? 'Starting noise suppression…' : 'Suppress noise'}
        </button>
      </div>
      {local.event && (
        <p className="notice" role="status">
          {deviceEventText(local.event)}{' '}
          <button type="button" className="link" onClick={() => media.dismiss()}>
            Dismiss
          </button>
        </p>
      )}
    </div>
  );
}
