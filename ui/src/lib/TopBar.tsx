'use client';

/**
 * The call's top bar: the room, its policy, the link, and a host's room controls (lock, screen
 * sharing, mute everyone, whether participants may unmute themselves, end). On a phone the host's controls sit in a **Host controls** menu.
 */
import {
  Link as LinkIcon,
  Lock,
  LockOpen,
  MicOff,
  Power,
  ScreenShare,
  Shield,
  ToggleLeft,
  ToggleRight,
} from 'lucide-react';
import { useState } from 'react';
import type { HostPolicy, RoomPolicy } from '@switchboard/protocol';
import type { CallClient, CallSnapshot } from './CallClient';
import { MenuButton } from './MenuButton';

const POLICY_LABELS: Record<RoomPolicy, string> = {
  open: 'Open: anyone with the link',
  lobby: 'Lobby: guests wait for a host',
  locked: 'Locked: no one new can join',
  private: 'Private: by invitation only',
};

export function TopBar({
  call,
  snapshot,
  room,
  title,
  initialPolicy,
  act,
}: {
  call: CallClient;
  snapshot: CallSnapshot;
  room: string;
  title: string;
  initialPolicy?: RoomPolicy;
  act: (action: () => Promise<void>) => void;
}) {
  const [copied, setCopied] = useState(false);
  /** The policy to go back to when a host unlocks the meeting. */
  const [unlockedPolicy, setUnlockedPolicy] = useState<HostPolicy>(
    initialPolicy === 'lobby' ? 'lobby' : 'open',
  );
  const shareLink = () => {
    const url = `${window.location.origin}/r/${room}`;
    void navigator.clipboard
      ?.writeText(url)
      .then(() => setCopied(true))
      .catch(() => setCopied(false));
    setTimeout(() => setCopied(false), 2500);
  };
  const hostActions = (
    <>
      <button
        type="button"
        className="secondary"
        onClick={() => {
          if (snapshot.policy !== 'locked') {
            setUnlockedPolicy(snapshot.policy === 'lobby' ? 'lobby' : 'open');
          }
          act(() =>
            call.host('setPolicy', { policy: snapshot.policy === 'locked' ? unlockedPolicy : 'locked' }),
          );
        }}
      >
        {snapshot.policy === 'locked' ? (
          <>
            <LockOpen size={16} aria-hidden /> Unlock meeting
          </>
        ) : (
          <>
            <Lock size={16} aria-hidden /> Lock meeting
          </>
        )}
      </button>
      <button
        type="button"
        className="secondary"
        aria-pressed={snapshot.multipleScreenShares}
        onClick={() => act(() => call.host('setScreenSharing', { multiple: !snapshot.multipleScreenShares }))}
      >
        <ScreenShare size={16} aria-hidden />{' '}
        {snapshot.multipleScreenShares ? 'One screen at a time' : 'Let several share'}
      </button>
      <button
        type="button"
        className="secondary"
        disabled={snapshot.participants.length === 0}
        onClick={() => act(() => call.host('hostMuteAll', { kind: 'audio' }))}
      >
        <MicOff size={16} aria-hidden /> Mute everyone
      </button>
      <button
        type="button"
        role="switch"
        className="secondary"
        aria-checked={snapshot.selfUnmuteAllowed}
        title={
          snapshot.selfUnmuteAllowed
            ? 'Participants turn their microphones on themselves'
            : 'Only a host can let a participant turn a microphone on'
        }
        onClick={() => act(() => call.host('setSelfUnmute', { allowed: !snapshot.selfUnmuteAllowed }))}
      >
        {snapshot.selfUnmuteAllowed ? (
          <ToggleRight size={16} aria-hidden />
        ) : (
          <ToggleLeft size={16} aria-hidden />
        )}{' '}
        Participants can unmute
      </button>
      <button type="button" className="danger" onClick={() => act(() => call.host('endMeeting', {}))}>
        <Power size={16} aria-hidden /> End for all
      </button>
    </>
  );
  return (
    <header className="topbar">
      <h1 className="room-title">{title}</h1>
      {snapshot.policy && <span className="badge">{POLICY_LABELS[snapshot.policy]}</span>}
      <span className="spacer" />
      <button type="button" className="secondary" onClick={shareLink}>
        <LinkIcon size={16} aria-hidden />{' '}
        <span className="label">{copied ? 'Link copied' : 'Copy link'}</span>
      </button>
      {snapshot.role === 'host' && (
        <>
          <span className="controls-wide">{hostActions}</span>
          <MenuButton
            icon={<Shield size={16} aria-hidden />}
            label="Host controls"
            menuLabel="Host controls"
            className="controls-narrow"
            menuClassName="more-menu top"
          >
            {() => hostActions}
          </MenuButton>
        </>
      )}
    </header>
  );
}
