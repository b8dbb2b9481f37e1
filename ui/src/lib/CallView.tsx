'use client';

/**
 * The call: top bar, the lobby prompt for hosts, the grid (a tile per camera and per screen
 * share; one pinned or shared large), the open panel, what went wrong, and the controls.
 */
import { Check, Pin, PinOff, X } from 'lucide-react';
import { useState } from 'react';
import type { RoomPolicy } from '@switchboard/protocol';
import type { CallClient, CallSnapshot } from './CallClient';
import { connectionText, noticeText } from './callNotices';
import { ChatPanel } from './ChatPanel';
import { Controls, type Panel } from './Controls';
import { DeviceSettings, deviceEventText } from './DeviceSettings';
import { HandBadge } from './Hands';
import { HostMenu } from './HostMenu';
import type { LocalMedia, LocalMediaSnapshot } from './LocalMedia';
import { PeoplePanel } from './PeoplePanel';
import { localQuality, remoteQuality } from './quality';
import { FloatingReactions } from './Reactions';
import { StatsPanel } from './StatsPanel';
import { Tile } from './Tile';
import { TopBar } from './TopBar';

export function CallView({
  call,
  snapshot,
  media,
  local,
  self,
  room,
  title,
  initialPolicy,
}: {
  call: CallClient;
  snapshot: CallSnapshot;
  media?: LocalMedia;
  local?: LocalMediaSnapshot;
  self: string;
  room: string;
  title: string;
  initialPolicy?: RoomPolicy;
}) {
  const [panel, setPanel] = useState<Panel>();
  /** The tile the user pinned large (its key); unset: the latest screen share, if any. */
  const [pinned, setPinned] = useState<string>();
  /** A screen share the user unpinned: not shown large by itself again. */
  const [dismissed, setDismissed] = useState<string>();
  const [actionError, setActionError] = useState('');
  const act = (action: () => Promise<void>) => {
    setActionError('');
    action().catch((error: unknown) => setActionError((error as Error).message));
  };
  const isHost = snapshot.role === 'host';
  const status = actionError || (snapshot.notice && noticeText(snapshot.notice)) || connectionText(snapshot);
  const stream = local?.stream;
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
  const names = new Map(snapshot.participants.map((p) => [p.peerId, p.displayName]));

  return (
    <main className="meeting">
      <TopBar
        call={call}
        snapshot={snapshot}
        room={room}
        title={title}
        initialPolicy={initialPolicy}
        act={act}
      />
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
            stream={stream}
            muted
            label={`${self} (you)`}
            overlay={
              snapshot.canPublish ? undefined : (
                <div className="tile-state" role="status">
                  You are watching and listening: your invitation does not let you send
                </div>
              )
            }
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
              sinkId={local?.speaker}
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
                    {isHost && <HostMenu call={call} participant={p} act={act} />}
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
        {panel === 'chat' && (
          <ChatPanel
            chat={call.chat}
            snapshot={snapshot.chat}
            participants={snapshot.participants}
            onClose={() => setPanel(undefined)}
          />
        )}
        {panel === 'stats' && (
          <StatsPanel stats={snapshot.stats} names={names} onClose={() => setPanel(undefined)} />
        )}
        {panel === 'people' && <PeoplePanel call={call} snapshot={snapshot} self={self} act={act} />}
        {panel === 'settings' && media && local && (
          <aside className="settings" aria-label="Settings">
            <h2>Settings</h2>
            <DeviceSettings media={media} local={local} onError={setActionError} />
          </aside>
        )}
      </div>
      {status && (
        <p className="status error" role="alert">
          {status}
        </p>
      )}
      {local?.event && panel !== 'settings' && (
        <p className="status" role="status">
          {deviceEventText(local.event)}
        </p>
      )}
      <Controls
        call={call}
        snapshot={snapshot}
        hasAudio={!!stream?.getAudioTracks().length}
        hasVideo={!!stream?.getVideoTracks().length}
        panel={panel}
        onPanel={setPanel}
        act={act}
      />
    </main>
  );
}
