'use client';

/**
 * The meeting page's effects, one concern each: this participant's camera and microphone, the
 * call prepared while the pre-join screen shows, leaving on page hide, away when idle, and the
 * call following a device or effect switch.
 */
import { useEffect, useRef, useState } from 'react';
import { CallClient, type CallSnapshot } from './CallClient';
import { LocalMedia, type LocalMediaSnapshot } from './LocalMedia';

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

/** How long the name must stay unchanged before a call is prepared for it (typing). */
const PREPARE_AFTER_MS = 250;

/** Calls `fn` at most once per animation frame, however often it is asked. */
function perFrame(fn: () => void): () => void {
  let frame: number | undefined;
  return () => {
    frame ??= requestAnimationFrame(() => {
      frame = undefined;
      fn();
    });
  };
}

/** The camera and microphone (opened once for the page), and their latest snapshot. */
export function useLocalMedia(): { media?: LocalMedia; local?: LocalMediaSnapshot } {
  const [media, setMedia] = useState<LocalMedia>();
  const [local, setLocal] = useState<LocalMediaSnapshot>();
  useEffect(() => {
    let opened: LocalMedia | undefined;
    let cancelled = false;
    const low = new URLSearchParams(window.location.search).get('camera') === 'low';
    void LocalMedia.open({
      video: low ? LOW_VIDEO_CONSTRAINTS : VIDEO_CONSTRAINTS,
      onChange: perFrame(() => opened && !cancelled && setLocal(opened.snapshot())),
    }).then((m) => {
      if (cancelled) {
        m.close();
        return;
      }
      opened = m;
      setMedia(m);
      setLocal(m.snapshot());
    });
    return () => {
      cancelled = true;
      opened?.close();
    };
  }, []);
  return { media, local };
}

/** A call client and the holder its change notices read it through (set once it is the page's call). */
export interface Prepared {
  client: CallClient;
  holder: { client?: CallClient };
  displayName: string;
}

export function newCall(
  room: string,
  displayName: string,
  localStream: MediaStream,
  setSnapshot: (snapshot: CallSnapshot) => void,
  /** An invitation's join token (the link's `#token=`): joined with it instead of a new one. */
  inviteToken?: string,
): Prepared {
  // onChange may fire before start() returns; it reads the client through this holder, which is
  // empty until the client is the page's call (a discarded one's late notices show nothing).
  const holder: { client?: CallClient } = {};
  const client = CallClient.create({
    room,
    displayName,
    localStream,
    // Changes come in bursts (a join sets up many tracks; levels arrive a few times a second).
    onChange: perFrame(() => holder.client && setSnapshot(holder.client.snapshot())),
    // `?relay` in the link: media only through TURN (for networks that block the rest).
    forceRelay: new URLSearchParams(window.location.search).has('relay'),
    inviteToken,
  });
  return { client, holder, displayName };
}

/**
 * A call prepared while the pre-join screen shows (join token, socket, the router's capabilities)
 * for the name as typed, so Join only has to join. Replaced when the name changes, closed when
 * the page goes; a failed preparation costs nothing (Join then does it all). `take()` hands it
 * over (the caller owns it then).
 */
export function usePreparedCall(
  room: string,
  name: string,
  media: LocalMedia | undefined,
  call: CallClient | undefined,
  setSnapshot: (snapshot: CallSnapshot) => void,
  inviteToken?: string,
): { take: () => Prepared | undefined } {
  const prepared = useRef<Prepared>(undefined);
  useEffect(() => {
    const displayName = name.trim();
    if (!media || !displayName || call) {
      return;
    }
    const timer = setTimeout(() => {
      const next = newCall(room, displayName, media.snapshot().stream, setSnapshot, inviteToken);
      next.client.prepare();
      prepared.current = next;
    }, PREPARE_AFTER_MS);
    return () => {
      clearTimeout(timer);
      prepared.current?.client.close();
      prepared.current = undefined;
    };
  }, [media, name, room, call, setSnapshot, inviteToken]);
  return {
    take: () => {
      const ready = prepared.current;
      prepared.current = undefined; // the caller's now: the effect leaves it alone
      return ready;
    },
  };
}

/** Closing or reloading the tab is leaving (the others see "left", not "reconnecting"). */
export function useLeaveOnPageHide(call: CallClient | undefined): void {
  useEffect(() => {
    if (!call) {
      return;
    }
    const leave = () => call.close();
    window.addEventListener('pagehide', leave);
    return () => {
      window.removeEventListener('pagehide', leave);
      call.close();
    };
  }, [call]);
}

/** Away while the tab is hidden or nobody touched it for IDLE_MS; the others see it on the tile. */
export function useAway(call: CallClient | undefined): void {
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
}

/** The call sends whatever track the person switches to (device or effect), without renegotiating. */
export function useLocalTracks(call: CallClient | undefined, media: LocalMedia | undefined): void {
  useEffect(() => {
    if (!call || !media) {
      return;
    }
    return media.onTrack((kind, track) => {
      call
        .setLocalTrack(kind, track)
        .catch((error: unknown) => console.warn('could not switch the track', error));
    });
  }, [call, media]);
}
