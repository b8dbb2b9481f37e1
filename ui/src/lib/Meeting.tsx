'use client';

import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { CallClient, type CallSnapshot } from './CallClient';

const VIDEO_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24 },
};

function Video({
  stream,
  muted,
  label,
  className,
}: {
  stream: MediaStream;
  muted: boolean;
  label: string;
  className?: string;
}) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) {
      ref.current.srcObject = stream;
    }
  }, [stream]);
  return <video ref={ref} className={className} autoPlay playsInline muted={muted} aria-label={label} />;
}

/** The meeting page: pre-join (camera preview, name) and the call (grid of tiles, controls). */
export function Meeting({ room, initialName }: { room: string; initialName: string }) {
  const [name, setName] = useState(initialName);
  const [localStream, setLocalStream] = useState<MediaStream>();
  const [mediaError, setMediaError] = useState('');
  const [call, setCall] = useState<CallClient>();
  const [snapshot, setSnapshot] = useState<CallSnapshot>();
  const [joining, setJoining] = useState(false);
  const [joinError, setJoinError] = useState('');
  const [micMuted, setMicMuted] = useState(false);
  const [cameraOff, setCameraOff] = useState(false);

  useEffect(() => {
    let stream: MediaStream | undefined;
    let cancelled = false;
    // Camera and microphone; failing that, microphone only; failing that, join to watch and listen.
    const attempts: [MediaStreamConstraints, string][] = [
      [{ audio: true, video: VIDEO_CONSTRAINTS }, ''],
      [{ audio: true }, 'No camera available: you will join with your microphone only.'],
    ];
    void (async () => {
      let lastError = '';
      for (const [constraints, note] of attempts) {
        try {
          const s = await navigator.mediaDevices.getUserMedia(constraints);
          if (cancelled) {
            s.getTracks().forEach((t) => t.stop());
            return;
          }
          stream = s;
          setLocalStream(s);
          setMediaError(note);
          return;
        } catch (error) {
          lastError = (error as Error).message;
        }
      }
      if (!cancelled) {
        setLocalStream(new MediaStream());
        setMediaError(
          `Camera and microphone unavailable (${lastError}): you can still join to watch and listen.`,
        );
      }
    })();
    return () => {
      cancelled = true;
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, []);

  useEffect(() => () => call?.close(), [call]);

  const join = useCallback(
    async (event: FormEvent) => {
      event.preventDefault();
      if (!localStream || !name.trim()) {
        return;
      }
      setJoining(true);
      setJoinError('');
      try {
        // onChange may fire before join() returns; it reads the client through this holder.
        const holder: { client?: CallClient } = {};
        const client = await CallClient.join({
          room,
          displayName: name.trim(),
          localStream,
          onChange: () => holder.client && setSnapshot(holder.client.snapshot()),
        });
        holder.client = client;
        setCall(client);
        setSnapshot(client.snapshot());
      } catch (error) {
        setJoinError((error as Error).message);
      } finally {
        setJoining(false);
      }
    },
    [localStream, name, room],
  );

  if (!call || snapshot?.status === 'left') {
    if (snapshot?.status === 'left') {
      return (
        <main>
          <div className="center">
            <h1>You left {room}</h1>
            <a href={`/r/${room}?name=${encodeURIComponent(name)}`}>Rejoin</a>
            <a href="/">Home</a>
          </div>
        </main>
      );
    }
    return (
      <main>
        <form className="center" onSubmit={(e) => void join(e)}>
          <h1>{room}</h1>
          {localStream ? (
            <Video stream={localStream} muted label="Your camera preview" className="preview" />
          ) : (
            <div className="preview" />
          )}
          {mediaError && (
            <p className="error" role="alert">
              {mediaError}
            </p>
          )}
          <label>
            Your name
            <input value={name} onChange={(e) => setName(e.target.value)} maxLength={64} required />
          </label>
          <button type="submit" disabled={!localStream || !name.trim() || joining}>
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

  const toggleMic = () => {
    const next = !micMuted;
    setMicMuted(next);
    void call.setMicrophoneMuted(next);
  };
  const toggleCamera = () => {
    const next = !cameraOff;
    setCameraOff(next);
    void call.setCameraOff(next);
  };

  return (
    <main>
      <div className="grid" data-testid="grid">
        <div className="tile local">
          {localStream && <Video stream={localStream} muted label={`${name.trim()} (you)`} />}
          <span className="name">{name.trim()} (you)</span>
        </div>
        {snapshot?.participants.map((p) => (
          <div className="tile" key={p.peerId} data-peer-id={p.peerId}>
            <Video stream={p.stream} muted={false} label={p.displayName} />
            <span className="name">
              {p.displayName}
              {p.audioMuted ? ' (muted)' : ''}
              {p.videoOff ? ' (camera off)' : ''}
            </span>
          </div>
        ))}
      </div>
      {snapshot?.error && (
        <p className="status error" role="alert">
          {snapshot.error}
        </p>
      )}
      <div className="controls">
        <button
          type="button"
          aria-pressed={micMuted}
          onClick={toggleMic}
          disabled={!localStream?.getAudioTracks().length}
        >
          {micMuted ? 'Unmute microphone' : 'Mute microphone'}
        </button>
        <button
          type="button"
          aria-pressed={cameraOff}
          onClick={toggleCamera}
          disabled={!localStream?.getVideoTracks().length}
        >
          {cameraOff ? 'Turn camera on' : 'Turn camera off'}
        </button>
        <button type="button" className="danger" onClick={() => call.close()}>
          Leave
        </button>
      </div>
    </main>
  );
}
