'use client';

import {
  Activity,
  Check,
  Crown,
  Link as LinkIcon,
  Lock,
  LockOpen,
  Megaphone,
  MessageSquare,
  Mic,
  MicOff,
  PhoneOff,
  Pin,
  PinOff,
  Power,
  ScreenShare,
  ScreenShareOff,
  UserX,
  Users,
  Video as VideoIcon,
  VideoOff,
  X,
} from 'lucide-react';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { RoomPolicy } from '@switchboard/protocol';
import { CallClient, type CallSnapshot, type RemoteParticipant } from './CallClient';
import { ChatPanel } from './ChatPanel';
import { HandBadge, HandsList, RaiseHandButton } from './Hands';
import { FloatingReactions, ReactionsMenu } from './Reactions';
import { Notice } from './Notice';
import { localQuality, remoteQuality } from './quality';
import { StatsPanel } from './StatsPanel';
import { Tile, Video } from './Tile';

/** HD when the camera has it: the others get three simulcast layers to choose from. */
const VIDEO_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 24 },
};

/** `?camera=low` in the link: 320×180 at 15 fps, one layer (slow uplinks, large calls). */
const LOW_VIDEO_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 320 },
  height: { ideal: 180 },
  frameRate: { ideal: 15 },
};

/** No pointer or key for this long counts as away. */
const IDLE_MS = 3 * 60_000;

const PRESENCE_LABELS: Record<RemoteParticipant['presence'], string> = {
  active: '',
  away: 'away',
  reconnecting: 'reconnecting…',
};

const POLICY_LABELS: Record<RoomPolicy, string> = {
  open: 'Open: anyone with the link',
  lobby: 'Lobby: guests wait for a host',
  locked: 'Locked: no one new can join',
};

/** A call client and the holder its change notices read it through (set once it is the page's call). */
interface Prepared {
  client: CallClient;
  holder: { client?: CallClient };
  displayName: string;
}

/** How long the name must stay unchanged before a call is prepared for it (typing). */
const PREPARE_AFTER_MS = 250;

function newCall(
  room: string,
  displayName: string,
  localStream: MediaStream,
  setSnapshot: (snapshot: CallSnapshot) => void,
): Prepared {
  // onChange may fire before start() returns; it reads the client through this holder, which is
  // empty until the client is the page's call (a discarded one's late notices show nothing).
  const holder: { client?: CallClient } = {};
  // Changes come in bursts (a join sets up many tracks; levels arrive a few times a second):
  // render at most once per frame.
  let frame: number | undefined;
  const render = () => {
    frame = undefined;
    if (holder.client) {
      setSnapshot(holder.client.snapshot());
    }
  };
  const client = CallClient.create({
    room,
    displayName,
    localStream,
    onChange: () => {
      frame ??= requestAnimationFrame(render);
    },
    // `?relay` in the link: media only through TURN (for networks that block the rest).
    forceRelay: new URLSearchParams(window.location.search).has('relay'),
  });
  return { client, holder, displayName };
}

/** The meeting page: pre-join (camera preview, name), lobby, the call (grid, controls, people). */
export function Meeting({
  room,
  roomName,
  policy,
  initialName,
}: {
  room: string;
  roomName?: string;
  /** The room's policy when the page opened (the pre-join screen says what to expect). */
  policy?: RoomPolicy;
  initialName: string;
}) {
  const [name, setName] = useState(initialName);
  const [localStream, setLocalStream] = useState<MediaStream>();
  const [mediaError, setMediaError] = useState('');
  const [call, setCall] = useState<CallClient>();
  const [snapshot, setSnapshot] = useState<CallSnapshot>();
  const [joining, setJoining] = useState(false);
  const [joinError, setJoinError] = useState('');
  const [showPeople, setShowPeople] = useState(false);
  const [showChat, setShowChat] = useState(false);
  const [showStats, setShowStats] = useState(false);
  /** The participant shown large, the others in a strip. */
  /** The tile the user pinned large (its key); unset: the latest screen share, if any. */
  const [pinned, setPinned] = useState<string>();
  /** A screen share the user unpinned: not shown large by itself again. */
  const [dismissed, setDismissed] = useState<string>();
  const [actionError, setActionError] = useState('');
  const [copied, setCopied] = useState(false);
  /** The policy to go back to when a host unlocks the meeting. */
  const [unlockedPolicy, setUnlockedPolicy] = useState<RoomPolicy>(policy === 'lobby' ? 'lobby' : 'open');
  const title = roomName ?? room;

  useEffect(() => {
    if (initialName && !name) {
      setName(initialName);
    }
  }, [initialName, name]);

  useEffect(() => {
    let stream: MediaStream | undefined;
    let cancelled = false;
    // Camera and microphone; failing that, microphone only; failing that, join to watch and listen.
    const low = new URLSearchParams(window.location.search).get('camera') === 'low';
    const attempts: [MediaStreamConstraints, string][] = [
      [{ audio: true, video: low ? LOW_VIDEO_CONSTRAINTS : VIDEO_CONSTRAINTS }, ''],
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

  useEffect(() => {
    if (!call) {
      return;
    }
    // Closing or reloading the tab is leaving (the others see "left", not "reconnecting").
    const leave = () => call.close();
    window.addEventListener('pagehide', leave);
    return () => {
      window.removeEventListener('pagehide', leave);
      call.close();
    };
  }, [call]);

  // Away while the tab is hidden or nobody touched it for IDLE_MS; the others see it on the tile.
  useEffect(() => {
    if (!call) {
      return;
    }
    let idle = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const update = () => call.setAway(document.hidden || idle);
    const active = () => {
      clearTimeout(timer);
      if (idle) {
        idle = false;
        update();
      }
      timer = setTimeout(() => {
        idle = true;
        update();
      }, IDLE_MS);
    };
    const events = ['pointermove', 'pointerdown', 'keydown', 'wheel'] as const;
    events.forEach((e) => window.addEventListener(e, active, { passive: true }));
    document.addEventListener('visibilitychange', update);
    active();
    update();
    return () => {
      clearTimeout(timer);
      events.forEach((e) => window.removeEventListener(e, active));
      document.removeEventListener('visibilitychange', update);
    };
  }, [call]);

  /**
   * A call prepared while the pre-join screen shows (join token, socket, the router's capabilities)
   * for the name as typed, so Join only has to join. Replaced when the name changes, closed when
   * the page goes; a failed preparation costs nothing (Join then does it all).
   */
  const prepared = useRef<Prepared>(undefined);
  useEffect(() => {
    const displayName = name.trim();
    if (!localStream || !displayName || call) {
      return;
    }
    const timer = setTimeout(() => {
      const next = newCall(room, displayName, localStream, setSnapshot);
      next.client.prepare();
      prepared.current = next;
    }, PREPARE_AFTER_MS);
    return () => {
      clearTimeout(timer);
      prepared.current?.client.close();
      prepared.current = undefined;
    };
  }, [localStream, name, room, call]);

  const join = useCallback(
    async (event: FormEvent) => {
      event.preventDefault();
      const displayName = name.trim();
      if (!localStream || !displayName) {
        return;
      }
      setJoining(true);
      setJoinError('');
      const ready = prepared.current;
      prepared.current = undefined; // it is the call's now (or closed): the effect leaves it alone
      if (ready && ready.displayName !== displayName) {
        ready.client.close();
      }
      const { client, holder } =
        ready?.displayName === displayName ? ready : newCall(room, displayName, localStream, setSnapshot);
      holder.client = client;
      setCall(client);
      setSnapshot(client.snapshot());
      try {
        await client.start();
      } catch (error) {
        holder.client = undefined; // late notices of the discarded client must not show it again
        client.close();
        setCall(undefined);
        setSnapshot(undefined);
        setJoinError((error as Error).message);
      } finally {
        setJoining(false);
      }
    },
    [localStream, name, room],
  );

  const act = (action: () => Promise<void>) => {
    setActionError('');
    action().catch((error: unknown) => setActionError((error as Error).message));
  };

  const shareLink = () => {
    const url = `${window.location.origin}/r/${room}`;
    void navigator.clipboard
      ?.writeText(url)
      .then(() => setCopied(true))
      .catch(() => setCopied(false));
    setTimeout(() => setCopied(false), 2500);
  };

  if (snapshot?.status === 'ended') {
    return <Notice title="The meeting is over for you" message={snapshot.endedReason} />;
  }
  if (snapshot?.status === 'left') {
    return (
      <Notice title={`You left ${title}`}>
        <a href={`/r/${room}?name=${encodeURIComponent(name)}`}>Rejoin</a>
        <a href="/">Home</a>
      </Notice>
    );
  }
  if (snapshot?.status === 'lobby') {
    return (
      <main>
        <div className="center" aria-live="polite">
          <h1>{title}</h1>
          {localStream && (
            <Video stream={localStream} muted label="Your camera preview" className="preview" />
          )}
          <p className="waiting" role="status">
            Waiting for a host to let you in…
          </p>
          <button type="button" className="secondary" onClick={() => call?.close()}>
            Cancel
          </button>
        </div>
      </main>
    );
  }
  if (!call || !snapshot || snapshot.status === 'connecting') {
    return (
      <main>
        <form className="center" onSubmit={(e) => void join(e)}>
          <h1>{title}</h1>
          {policy === 'lobby' && (
            <p className="muted">A host lets guests in: you may wait a moment after joining.</p>
          )}
          {policy === 'locked' && <p className="muted">This meeting is locked: only its hosts can join.</p>}
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

  const isHost = snapshot.role === 'host';
  const self = name.trim();
  /** The pinned participant while they are still here. */
  // Tile keys: a participant's camera is their peer id, their screen `screen:<peerId>`.
  const tileKeys = new Set([
    ...snapshot.participants.map((p) => p.peerId),
    ...snapshot.participants.filter((p) => p.screen).map((p) => `screen:${p.peerId}`),
    ...(snapshot.screenShare ? ['screen:self'] : []),
  ]);
  const shared = snapshot.participants
    .filter((p) => p.screen)
    .map((p) => `screen:${p.peerId}`)
    .find((key) => key !== dismissed);
  /** The large tile: the pinned one while it exists, else someone's screen share. */
  const spotlight = pinned && tileKeys.has(pinned) ? pinned : shared;
  /** A raised hand's badge on the tile of `peerId`, with its place in line. */
  const handOf = (peerId: string | undefined, name: string) => {
    const position = peerId ? snapshot.hands.indexOf(peerId) + 1 : 0;
    return position > 0 ? <HandBadge name={name} position={position} /> : null;
  };

  /** The reactions floating over the tile of `peerId`. */
  const reactionsOf = (peerId: string | undefined, name: string) =>
    peerId ? (
      <FloatingReactions reactions={snapshot.reactions.filter((r) => r.peerId === peerId)} name={name} />
    ) : null;

  const pinButton = (key: string, label: string) => (
    <button
      type="button"
      className="icon"
      aria-pressed={key === spotlight}
      title={key === spotlight ? `Unpin ${label}` : `Pin ${label}`}
      aria-label={key === spotlight ? `Unpin ${label}` : `Pin ${label}`}
      onClick={() => {
        if (key === spotlight) {
          setPinned(undefined);
          setDismissed(key.startsWith('screen:') ? key : dismissed);
        } else {
          setPinned(key);
        }
      }}
    >
      {key === spotlight ? <PinOff size={16} aria-hidden /> : <Pin size={16} aria-hidden />}
    </button>
  );
  /** A host's controls for one participant; the people panel (`full`) adds keep-muted and allow-unmute. */
  const hostMenu = (p: RemoteParticipant, full = false) =>
    isHost && (
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

  return (
    <main className="meeting">
      <header className="topbar">
        <h1 className="room-title">{title}</h1>
        {snapshot.policy && <span className="badge">{POLICY_LABELS[snapshot.policy]}</span>}
        <span className="spacer" />
        <button type="button" className="secondary" onClick={shareLink}>
          <LinkIcon size={16} aria-hidden /> {copied ? 'Link copied' : 'Copy link'}
        </button>
        {isHost && (
          <>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                if (snapshot.policy !== 'locked') {
                  setUnlockedPolicy(snapshot.policy === 'lobby' ? 'lobby' : 'open');
                }
                act(() =>
                  call.host('setPolicy', {
                    policy: snapshot.policy === 'locked' ? unlockedPolicy : 'locked',
                  }),
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
              onClick={() =>
                act(() => call.host('setScreenSharing', { multiple: !snapshot.multipleScreenShares }))
              }
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
            <button type="button" className="danger" onClick={() => act(() => call.host('endMeeting', {}))}>
              <Power size={16} aria-hidden /> End for all
            </button>
          </>
        )}
      </header>
      {isHost && snapshot.lobby.length > 0 && (
        <section className="lobby-prompt" role="alertdialog" aria-label="Waiting in the lobby">
          {snapshot.lobby.map((w) => (
            <div key={w.peerId} className="lobby-row">
              <span>
                <strong>{w.displayName}</strong> wants to join
              </span>
              <button type="button" onClick={() => act(() => call.host('admit', { peerId: w.peerId }))}>
                <Check size={16} aria-hidden /> Admit {w.displayName}
              </button>
              <button
                type="button"
                className="secondary"
                onClick={() => act(() => call.host('deny', { peerId: w.peerId }))}
              >
                <X size={16} aria-hidden /> Deny {w.displayName}
              </button>
            </div>
          ))}
        </section>
      )}
      <div className="stage">
        <div
          className={spotlight ? 'grid spotlight' : 'grid'}
          data-testid="grid"
          data-count={snapshot.participants.length + 1}
        >
          <Tile
            local
            stream={localStream}
            muted
            label={`${self} (you)`}
            speaking={!!snapshot.selfPeerId && snapshot.activeSpeaker === snapshot.selfPeerId}
            level={snapshot.selfPeerId ? snapshot.levels[snapshot.selfPeerId] : undefined}
            quality={localQuality(snapshot.stats)}
            floating={reactionsOf(snapshot.selfPeerId, 'You')}
            footer={
              <>
                {handOf(snapshot.selfPeerId, 'You')}
                {self} (you){snapshot.micMuted ? ' (muted)' : ''}
              </>
            }
          />
          {snapshot.participants.map((p) => (
            <Tile
              key={p.peerId}
              data-peer-id={p.peerId}
              data-presence={p.presence}
              data-pinned={p.peerId === spotlight}
              stream={p.stream}
              muted={false}
              label={p.displayName}
              speaking={snapshot.activeSpeaker === p.peerId && !p.audioMuted}
              level={p.audioMuted ? undefined : snapshot.levels[p.peerId]}
              quality={remoteQuality(snapshot.stats, p.peerId)}
              onView={(view) => call.setTileView(p.peerId, view)}
              floating={reactionsOf(p.peerId, p.displayName)}
              overlay={
                p.presence === 'reconnecting' ? (
                  <div className="tile-state" role="status">
                    {p.displayName} is reconnecting…
                  </div>
                ) : undefined
              }
              footer={
                <>
                  {handOf(p.peerId, p.displayName)}
                  {p.displayName}
                  {p.audioMuted ? ' (muted)' : ''}
                  {p.videoOff ? ' (camera off)' : ''}
                  {p.presence === 'away' && <span className="presence"> · away</span>}
                </>
              }
              actions={
                p.presence !== 'reconnecting' && (
                  <span className="tile-actions">
                    {pinButton(p.peerId, p.displayName)}
                    {hostMenu(p)}
                  </span>
                )
              }
            />
          ))}
          {snapshot.participants
            .filter((p) => p.screen)
            .map((p) => (
              <Tile
                key={`screen:${p.peerId}`}
                data-peer-id={p.peerId}
                data-source="screen"
                data-pinned={`screen:${p.peerId}` === spotlight}
                stream={p.screen}
                muted
                label={`${p.displayName}'s screen`}
                speaking={false}
                audio={false}
                onView={(view) => call.setTileView(p.peerId, view, 'screen')}
                footer={<>{p.displayName}&apos;s screen</>}
                actions={
                  <span className="tile-actions">
                    {pinButton(`screen:${p.peerId}`, `${p.displayName}'s screen`)}
                  </span>
                }
              />
            ))}
          {snapshot.screenShare && (
            <Tile
              key="screen:self"
              data-source="screen"
              data-pinned={spotlight === 'screen:self'}
              stream={snapshot.screenShare}
              muted
              label="Your screen"
              speaking={false}
              audio={false}
              footer={<>Your screen (everyone sees it)</>}
              actions={<span className="tile-actions">{pinButton('screen:self', 'your screen')}</span>}
            />
          )}
        </div>
        {showChat && (
          <ChatPanel
            chat={call.chat}
            snapshot={snapshot.chat}
            participants={snapshot.participants}
            onClose={() => setShowChat(false)}
          />
        )}
        {showStats && (
          <StatsPanel
            stats={snapshot.stats}
            names={new Map(snapshot.participants.map((p) => [p.peerId, p.displayName]))}
            onClose={() => setShowStats(false)}
          />
        )}
        {showPeople && (
          <aside className="people" aria-label="Participants">
            <h2>People ({snapshot.participants.length + 1})</h2>
            <HandsList
              hands={snapshot.hands}
              names={new Map(snapshot.participants.map((p) => [p.peerId, p.displayName]))}
              selfPeerId={snapshot.selfPeerId}
              canLower={snapshot.role === 'host'}
              onLower={(peerId) => act(() => call.setAttributes({ hand: null }, peerId))}
            />
            <ul>
              <li>
                {self} (you){snapshot.role === 'host' ? ' · host' : ''}
              </li>
              {snapshot.participants.map((p) => (
                <li key={p.peerId}>
                  <span>
                    {p.displayName}
                    {p.role === 'host' ? ' · host' : p.role === 'guest' ? ' · guest' : ''}
                    {PRESENCE_LABELS[p.presence] && (
                      <span className="presence"> · {PRESENCE_LABELS[p.presence]}</span>
                    )}
                  </span>
                  {p.presence !== 'reconnecting' && hostMenu(p, true)}
                </li>
              ))}
            </ul>
          </aside>
        )}
      </div>
      {(snapshot.error || snapshot.notice || actionError) && (
        <p className="status error" role="alert">
          {actionError || snapshot.notice || snapshot.error}
        </p>
      )}
      <div className="controls">
        <button
          type="button"
          aria-pressed={snapshot.micMuted}
          onClick={() => void call.setMicrophoneMuted(!snapshot.micMuted)}
          disabled={!localStream?.getAudioTracks().length}
        >
          {snapshot.micMuted ? <MicOff size={18} aria-hidden /> : <Mic size={18} aria-hidden />}
          {snapshot.micMuted ? 'Unmute microphone' : 'Mute microphone'}
        </button>
        <button
          type="button"
          aria-pressed={snapshot.cameraOff}
          onClick={() => void call.setCameraOff(!snapshot.cameraOff)}
          disabled={!localStream?.getVideoTracks().length}
        >
          {snapshot.cameraOff ? <VideoOff size={18} aria-hidden /> : <VideoIcon size={18} aria-hidden />}
          {snapshot.cameraOff ? 'Turn camera on' : 'Turn camera off'}
        </button>
        <button
          type="button"
          aria-pressed={!!snapshot.screenShare}
          onClick={() => act(() => (snapshot.screenShare ? call.stopScreenShare() : call.shareScreen()))}
          disabled={typeof navigator.mediaDevices?.getDisplayMedia !== 'function'}
        >
          {snapshot.screenShare ? (
            <ScreenShareOff size={18} aria-hidden />
          ) : (
            <ScreenShare size={18} aria-hidden />
          )}
          {snapshot.screenShare ? 'Stop sharing' : 'Share screen'}
        </button>
        <ReactionsMenu onReact={(emoji) => act(() => call.react(emoji))} />
        <RaiseHandButton
          raised={!!snapshot.selfAttributes.hand}
          onToggle={() => act(() => call.setAttributes({ hand: snapshot.selfAttributes.hand ? null : '1' }))}
        />
        <button
          type="button"
          className="secondary"
          aria-pressed={showPeople}
          onClick={() => setShowPeople((v) => !v)}
        >
          <Users size={18} aria-hidden /> People
        </button>
        <button
          type="button"
          className="secondary"
          aria-pressed={showChat}
          onClick={() => setShowChat((v) => !v)}
        >
          <MessageSquare size={18} aria-hidden /> Chat
          {snapshot.chat.unread > 0 && (
            <span className="count" aria-label={`${snapshot.chat.unread} unread`}>
              {snapshot.chat.unread}
            </span>
          )}
        </button>
        <button
          type="button"
          className="secondary"
          aria-pressed={showStats}
          onClick={() => setShowStats((v) => !v)}
        >
          <Activity size={18} aria-hidden /> Stats
        </button>
        <button type="button" className="danger" onClick={() => call.close()}>
          <PhoneOff size={18} aria-hidden /> Leave
        </button>
      </div>
    </main>
  );
}
