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
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { CallClient, CallSnapshot } from './CallClient';
import { RaiseHandButton } from './Hands';
import { ReactionsMenu } from './Reactions';

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
  const [more, setMore] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!more) {
      return;
    }
    menu.current?.querySelector('button')?.focus();
    const close = (event: KeyboardEvent) => event.key === 'Escape' && setMore(false);
    document.addEventListener('keydown', close);
    return () => document.removeEventListener('keydown', close);
  }, [more]);
  const toggle = (which: Panel) => {
    onPanel(panel === which ? undefined : which);
    setMore(false);
  };
  const panelButton = (which: Panel, icon: ReactNode, label: string, extra?: ReactNode) => (
    <button
      type="button"
      className="secondary"
      title={label}
      aria-pressed={panel === which}
      onClick={() => toggle(which)}
    >
      {icon} <span className="label">{label}</span>
      {extra}
    </button>
  );
  const secondary = (
    <>
      <button
        type="button"
        aria-pressed={!!snapshot.screenShare}
        title={snapshot.screenShare ? 'Stop sharing' : 'Share screen'}
        onClick={() => act(() => (snapshot.screenShare ? call.stopScreenShare() : call.shareScreen()))}
        disabled={typeof navigator.mediaDevices?.getDisplayMedia !== 'function'}
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
      {panelButton('people', <Users size={18} aria-hidden />, 'People')}
      {panelButton(
        'chat',
        <MessageSquare size={18} aria-hidden />,
        'Chat',
        snapshot.chat.unread > 0 && (
          <span className="count" aria-label={`${snapshot.chat.unread} unread`}>
            {snapshot.chat.unread}
          </span>
        ),
      )}
      {panelButton('stats', <Activity size={18} aria-hidden />, 'Stats')}
      {panelButton('settings', <Settings size={18} aria-hidden />, 'Settings')}
    </>
  );
  return (
    <div className="controls">
      <button
        type="button"
        aria-pressed={snapshot.micMuted}
        title={snapshot.micMuted ? 'Unmute microphone' : 'Mute microphone'}
        onClick={() => void call.setMicrophoneMuted(!snapshot.micMuted)}
        disabled={!hasAudio}
      >
        {snapshot.micMuted ? <MicOff size={18} aria-hidden /> : <Mic size={18} aria-hidden />}
        <span className="label">{snapshot.micMuted ? 'Unmute microphone' : 'Mute microphone'}</span>
      </button>
      <button
        type="button"
        aria-pressed={snapshot.cameraOff}
        title={snapshot.cameraOff ? 'Turn camera on' : 'Turn camera off'}
        onClick={() => void call.setCameraOff(!snapshot.cameraOff)}
        disabled={!hasVideo}
      >
        {snapshot.cameraOff ? <VideoOff size={18} aria-hidden /> : <VideoIcon size={18} aria-hidden />}
        <span className="label">{snapshot.cameraOff ? 'Turn camera on' : 'Turn camera off'}</span>
      </button>
      <span className="controls-wide">{secondary}</span>
      <span className="controls-narrow">
        <button
          type="button"
          className="secondary"
          aria-haspopup="true"
          aria-expanded={more}
          title="More"
          onClick={() => setMore((v) => !v)}
        >
          <Ellipsis size={18} aria-hidden /> <span className="label">More</span>
        </button>
        {more && (
          <div className="more-menu" role="group" aria-label="More controls" ref={menu}>
            {secondary}
          </div>
        )}
      </span>
      <button type="button" className="danger" title="Leave" onClick={() => call.close()}>
        <PhoneOff size={18} aria-hidden /> <span className="label">Leave</span>
      </button>
    </div>
  );
}
