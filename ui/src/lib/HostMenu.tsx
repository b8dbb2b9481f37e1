'use client';

/** A host's controls for one participant; the people panel (`full`) adds keep-muted and unmute requests. */
import { Crown, Lock, Megaphone, Mic, MicOff, UserX, VideoOff } from 'lucide-react';
import type { CallClient, RemoteParticipant } from './CallClient';

export function HostMenu({
  call,
  participant: p,
  full = false,
  act,
}: {
  call: CallClient;
  participant: RemoteParticipant;
  full?: boolean;
  act: (action: () => Promise<void>) => void;
}) {
  return (
    <span className="host-actions">
      <button
        type="button"
        className="icon"
        title={`Mute ${p.displayName}`}
        aria-label={`Mute ${p.displayName}`}
        disabled={p.audioMuted}
        onClick={() => act(() => call.host('hostMute', { peerId: p.peerId, kind: 'audio' }))}
      >
        <MicOff size={16} aria-hidden />
      </button>
      <button
        type="button"
        className="icon"
        title={`Turn off ${p.displayName}'s camera`}
        aria-label={`Turn off ${p.displayName}'s camera`}
        disabled={p.videoOff}
        onClick={() => act(() => call.host('hostMute', { peerId: p.peerId, kind: 'video' }))}
      >
        <VideoOff size={16} aria-hidden />
      </button>
      {p.role !== 'host' && (
        <button
          type="button"
          className="icon"
          title={`Make ${p.displayName} a host`}
          aria-label={`Make ${p.displayName} a host`}
          onClick={() => act(() => call.host('promote', { peerId: p.peerId }))}
        >
          <Crown size={16} aria-hidden />
        </button>
      )}
      <button
        type="button"
        className="icon danger"
        title={`Remove ${p.displayName}`}
        aria-label={`Remove ${p.displayName}`}
        onClick={() => act(() => call.host('removePeer', { peerId: p.peerId }))}
      >
        <UserX size={16} aria-hidden />
      </button>
      {full && (
        <>
          <button
            type="button"
            className="icon"
            title={`Mute ${p.displayName} and keep them muted`}
            aria-label={`Mute ${p.displayName} and keep them muted`}
            onClick={() =>
              act(() => call.host('hostMute', { peerId: p.peerId, kind: 'audio', disableUnmute: true }))
            }
          >
            <Lock size={16} aria-hidden />
          </button>
          <button
            type="button"
            className="icon"
            title={`Ask ${p.displayName} to unmute`}
            aria-label={`Ask ${p.displayName} to unmute`}
            disabled={!p.audioMuted}
            onClick={() => act(() => call.host('hostAskToUnmute', { peerId: p.peerId, kind: 'audio' }))}
          >
            <Megaphone size={16} aria-hidden />
          </button>
          <button
            type="button"
            className="icon"
            title={`Let ${p.displayName} unmute`}
            aria-label={`Let ${p.displayName} unmute`}
            onClick={() => act(() => call.host('hostAllowUnmute', { peerId: p.peerId, kind: 'audio' }))}
          >
            <Mic size={16} aria-hidden />
          </button>
        </>
      )}
    </span>
  );
}
