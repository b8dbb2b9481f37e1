'use client';

/**
 * The call's control bar. Microphone, camera and Leave are always there; the rest sit beside
 * them on a wide screen and in a **More** menu on a phone (labels kept for screen readers when
 * only icons show).
 */
import {
  Activity,
  Ellipsis,
  MessageSquare,
  Mic,
  MicOff,
  PhoneOff,
  ScreenShare,
  ScreenShareOff,
  Settings,
  Users,
  Video as VideoIcon,
  VideoOff,
} from 'lucide-react';
import type { ReactNode } from 'react';
import type { CallClient, CallSnapshot } from './CallClient';
import { RaiseHandButton } from './Hands';
import { MenuButton } from './MenuButton';
import { ReactionsMenu } from './Reactions';

/** Why sending is off for a viewer's token (the integrator minted it with canPublish false). */
const WATCH_ONLY = 'Your invitation lets you watch and listen, not send';

export type Panel = 'people' | 'chat' | 'stats' | 'settings';

export function Controls({
  call,
  snapshot,
  hasAudio,
  hasVideo,
  panel,
  onPanel,
  act,
}: {
  call: CallClient;
  snapshot: CallSnapshot;
  hasAudio: boolean;
  hasVideo: boolean;
  panel?: Panel;
  onPanel: (panel: Panel | undefined) => void;
  act: (action: () => Promise<void>) => void;
}) {
  const toggle = (which: Panel, close?: () => void) => {
    onPanel(panel === which ? undefined : which);
    close?.();
  };
  const panelButton = (
    which: Panel,
    icon: ReactNode,
    label: string,
    extra?: ReactNode,
    close?: () => void,
  ) => (
    <button
      type="button"
      className="secondary"
      title={label}
      aria-pressed={panel === which}
      onClick={() => toggle(which, close)}
    >
      {icon} <span className="label">{label}</span>
      {extra}
    </button>
  );
  /** Beside the microphone on a wide screen; in More on a phone (`close` closes that menu). */
  const secondary = (close?: () => void) => (
    <>
      <button
        type="button"
        aria-pressed={!!snapshot.screenShare}
        title={!snapshot.canPublish ? WATCH_ONLY : snapshot.screenShare ? 'Stop sharing' : 'Share screen'}
        onClick={() => act(() => (snapshot.screenShare ? call.stopScreenShare() : call.shareScreen()))}
        disabled={!snapshot.canPublish || typeof navigator.mediaDevices?.getDisplayMedia !== 'function'}
      >
        {snapshot.screenShare ? (
          <ScreenShareOff size={18} aria-hidden />
        ) : (
          <ScreenShare size={18} aria-hidden />
        )}
        <span className="label">{snapshot.screenShare ? 'Stop sharing' : 'Share screen'}</span>
      </button>
      <ReactionsMenu onReact={(emoji) => act(() => call.react(emoji))} />
      <RaiseHandButton
        raised={!!snapshot.selfAttributes.hand}
        onToggle={() => act(() => call.setAttributes({ hand: snapshot.selfAttributes.hand ? null : '1' }))}
      />
      {panelButton('people', <Users size={18} aria-hidden />, 'People', undefined, close)}
      {panelButton(
        'chat',
        <MessageSquare size={18} aria-hidden />,
        'Chat',
        snapshot.chat.unread > 0 && (
          <span className="count" aria-label={`${snapshot.chat.unread} unread`}>
            {snapshot.chat.unread}
          </span>
        ),
        close,
      )}
      {panelButton('stats', <Activity size={18} aria-hidden />, 'Stats', undefined, close)}
      {panelButton('settings', <Settings size={18} aria-hidden />, 'Settings', undefined, close)}
    </>
  );
  return (
    <div className="controls">
      <button
        type="button"
        aria-pressed={snapshot.micMuted}
        title={
          !snapshot.canPublish
            ? WATCH_ONLY
            : !snapshot.micMuted
              ? 'Mute microphone'
              : snapshot.unmuteLocked.audio
                ? 'Unmute microphone (a host holds it off: ask a host)'
                : 'Unmute microphone'
        }
        onClick={() => void call.setMicrophoneMuted(!snapshot.micMuted)}
        disabled={!hasAudio || !snapshot.canPublish}
      >
        {snapshot.micMuted ? <MicOff size={18} aria-hidden /> : <Mic size={18} aria-hidden />}
        <span className="label">{snapshot.micMuted ? 'Unmute microphone' : 'Mute microphone'}</span>
      </button>
      <button
        type="button"
        aria-pressed={snapshot.cameraOff}
        title={!snapshot.canPublish ? WATCH_ONLY : snapshot.cameraOff ? 'Turn camera on' : 'Turn camera off'}
        onClick={() => void call.setCameraOff(!snapshot.cameraOff)}
        disabled={!hasVideo || !snapshot.canPublish}
      >
        {snapshot.cameraOff ? <VideoOff size={18} aria-hidden /> : <VideoIcon size={18} aria-hidden />}
        <span className="label">{snapshot.cameraOff ? 'Turn camera on' : 'Turn camera off'}</span>
      </button>
      <span className="controls-wide">{secondary()}</span>
      <MenuButton
        icon={<Ellipsis size={18} aria-hidden />}
        label="More"
        menuLabel="More controls"
        className="controls-narrow"
        menuClassName="more-menu"
      >
        {secondary}
      </MenuButton>
      <button type="button" className="danger" title="Leave" onClick={() => call.close()}>
        <PhoneOff size={18} aria-hidden /> <span className="label">Leave</span>
      </button>
    </div>
  );
}
