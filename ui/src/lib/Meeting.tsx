'use client';

/**
 * The meeting page: which screen shows (pre-join, lobby wait, the call, or why it is over) and
 * the call's lifetime. Each screen is its own component; the effects are hooks (hooks.ts).
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { RoomPolicy } from '@switchboard/protocol';
import type { CallClient, CallSnapshot } from './CallClient';
import { CallView } from './CallView';
import {
  newCall,
  useAway,
  useLeaveOnPageHide,
  useLocalMedia,
  useLocalTracks,
  usePreparedCall,
} from './hooks';
import { Notice } from './Notice';
import { LobbyWait, PreJoin, type StartMuted } from './PreJoin';

export function Meeting({
  room,
  roomName,
  policy,
  initialName,
  inviteToken,
}: {
  room: string;
  roomName?: string;
  /** The room's policy when the page opened (the pre-join screen says what to expect). */
  policy?: RoomPolicy;
  initialName: string;
  /** The invitation's join token (its name is `initialName`). */
  inviteToken?: string;
}) {
  const [name, setName] = useState(initialName);
  const { media, local } = useLocalMedia();
  const [call, setCall] = useState<CallClient>();
  const [snapshot, setSnapshot] = useState<CallSnapshot>();
  const [joining, setJoining] = useState(false);
  const [joinError, setJoinError] = useState('');
  const [startMuted, setStartMuted] = useState<StartMuted>({ audio: false, video: false });
  const title = roomName ?? room;
  useEffect(() => {
    if (initialName && !name) {
      setName(initialName); // the signed-in name arrived after the page
    }
  }, [initialName, name]);
  const prepared = usePreparedCall(room, name, media, call, setSnapshot, inviteToken);
  useLeaveOnPageHide(call);
  useAway(call);
  useLocalTracks(call, media);

  const join = useCallback(
    async (event: FormEvent) => {
      event.preventDefault();
      const displayName = name.trim();
      if (!media || !displayName) {
        return;
      }
      media.resume(); // audio processing waits for a click in some browsers: this is one
      setJoining(true);
      setJoinError('');
      const ready = prepared.take();
      if (ready && ready.displayName !== displayName) {
        ready.client.close();
      }
      const { client, holder } =
        ready?.displayName === displayName
          ? ready
          : newCall(room, displayName, media.snapshot().stream, setSnapshot, inviteToken);
      // The tracks as they are now (a device or effect may have changed since it was prepared).
      await client.setLocalTrack('audio', media.track('audio'));
      await client.setLocalTrack('video', media.track('video'));
      await client.setMicrophoneMuted(startMuted.audio);
      await client.setCameraOff(startMuted.video);
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
    [media, name, room, prepared, startMuted, inviteToken],
  );

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
    return <LobbyWait title={title} stream={local?.stream} onCancel={() => call?.close()} />;
  }
  if (!call || !snapshot || snapshot.status === 'connecting') {
    return (
      <PreJoin
        title={title}
        policy={policy}
        media={media}
        local={local}
        name={name}
        nameFixed={!!inviteToken}
        onName={setName}
        startMuted={startMuted}
        onStartMuted={setStartMuted}
        joining={joining}
        joinError={joinError}
        onJoin={(e) => void join(e)}
        onError={setJoinError}
      />
    );
  }
  return (
    <CallView
      call={call}
      snapshot={snapshot}
      media={media}
      local={local}
      self={name.trim()}
      room={room}
      title={title}
      initialPolicy={policy}
    />
  );
}
