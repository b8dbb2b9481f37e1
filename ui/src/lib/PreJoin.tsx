'use client';

/**
 * Before joining: the camera preview, the devices and effects, microphone and camera on or off,
 * the name, and Join. What to expect from the room's policy is said first.
 */
import { Mic, MicOff, Video as VideoIcon, VideoOff } from 'lucide-react';
import type { FormEvent } from 'react';
import type { RoomPolicy } from '@switchboard/protocol';
import { DeviceSettings } from './DeviceSettings';
import type { LocalMedia, LocalMediaSnapshot } from './LocalMedia';
import { Video } from './Tile';

export interface StartMuted {
  audio: boolean;
  video: boolean;
}

export function PreJoin({
  title,
  policy,
  media,
  local,
  name,
  nameFixed,
  onName,
  startMuted,
  onStartMuted,
  joining,
  joinError,
  onJoin,
  onError,
}: {
  title: string;
  policy?: RoomPolicy;
  media?: LocalMedia;
  local?: LocalMediaSnapshot;
  name: string;
  /** The name comes with the invitation's token and cannot be changed here. */
  nameFixed?: boolean;
  onName: (name: string) => void;
  startMuted: StartMuted;
  onStartMuted: (muted: StartMuted) => void;
  joining: boolean;
  joinError: string;
  onJoin: (event: FormEvent) => void;
  onError: (message: string) => void;
}) {
  const missing = local?.missing;
  const mediaError = !missing
    ? ''
    : missing.microphone
      ? `Camera and microphone unavailable (${missing.message}): you can still join to watch and listen.`
      : missing.camera
        ? 'No camera available: you will join with your microphone only.'
        : '';
  const hasAudio = !!local?.stream.getAudioTracks().length;
  const hasVideo = !!local?.stream.getVideoTracks().length;
  return (
    <main>
      <form className="center prejoin" onSubmit={onJoin}>
        <h1>{title}</h1>
        {policy === 'lobby' && (
          <p className="muted">A host lets guests in: you may wait a moment after joining.</p>
        )}
        {policy === 'locked' && <p className="muted">This meeting is locked: only its hosts can join.</p>}
        <div className="preview-frame">
          {local?.ready ? (
            <Video stream={local.stream} muted label="Your camera preview" className="preview" />
          ) : (
            <div className="preview" />
          )}
          {startMuted.video && hasVideo && (
            <div className="preview-off" role="status">
              Camera off
            </div>
          )}
          <div className="preview-toggles">
            <button
              type="button"
              className="icon"
              aria-pressed={startMuted.audio}
              aria-label={startMuted.audio ? 'Turn microphone on' : 'Turn microphone off'}
              title={startMuted.audio ? 'Turn microphone on' : 'Turn microphone off'}
              disabled={!hasAudio}
              onClick={() => onStartMuted({ ...startMuted, audio: !startMuted.audio })}
            >
              {startMuted.audio ? <MicOff size={18} aria-hidden /> : <Mic size={18} aria-hidden />}
            </button>
            <button
              type="button"
              className="icon"
              aria-pressed={startMuted.video}
              aria-label={startMuted.video ? 'Turn camera on' : 'Turn camera off'}
              title={startMuted.video ? 'Turn camera on' : 'Turn camera off'}
              disabled={!hasVideo}
              onClick={() => onStartMuted({ ...startMuted, video: !startMuted.video })}
            >
              {startMuted.video ? <VideoOff size={18} aria-hidden /> : <VideoIcon size={18} aria-hidden />}
            </button>
          </div>
        </div>
        {mediaError && (
          <p className="error" role="alert">
            {mediaError}
          </p>
        )}
        {media && local?.ready && <DeviceSettings media={media} local={local} onError={onError} />}
        <label>
          Your name
          <input
            value={name}
            onChange={(e) => onName(e.target.value)}
            maxLength={64}
            required
            readOnly={nameFixed}
            aria-describedby={nameFixed ? 'name-from-invite' : undefined}
          />
          {nameFixed && (
            <span id="name-from-invite" className="muted">
              From your invitation
            </span>
          )}
        </label>
        <button type="submit" disabled={!local?.ready || !name.trim() || joining}>
          {joining ? 'Joining…' : 'Join'}
        </button>
        {joinError && (
          <p className="error" role="alert">
            {joinError}
          </p>
        )}
      </form>
    </main>
  );
}

export function LobbyWait({
  title,
  stream,
  onCancel,
}: {
  title: string;
  stream?: MediaStream;
  onCancel: () => void;
}) {
  return (
    <main>
      <div className="center" aria-live="polite">
        <h1>{title}</h1>
        {stream && <Video stream={stream} muted label="Your camera preview" className="preview" />}
        <p className="waiting" role="status">
          Waiting for a host to let you in…
        </p>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </main>
  );
}
