'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { serverApi, type MediaNode, type Participant, type Room } from './serverApi';

/** What the live view shows: every media node and every live room with its participants. */
export interface LiveSnapshot {
  nodes: MediaNode[];
  rooms: Room[];
  participants: Record<string, Participant[]>;
  /** When it was read (ms since the epoch). */
  at: number;
}

/** The shortest time between reads. */
const EVERY_MS = 2000;
/**
 * Requests a second at most: a read is 2 + one per live room, and the server API limits each
 * caller (API_KEY_RATE_LIMIT_PER_MINUTE, 600 by default): half of it leaves room for actions.
 */
const MAX_REQUESTS_PER_SECOND = 5;

/**
 * Reads nodes, live rooms and their participants every 2 s (longer with many rooms, so a read
 * stays within the caller's rate limit) while the tab is visible, at once when it becomes visible
 * again, and when `refresh()` is called after an action. Keeps the last snapshot on a failed read
 * and says why.
 */
export function useLive(): { live?: LiveSnapshot; error?: string; refresh: () => void } {
  const [live, setLive] = useState<LiveSnapshot>();
  const [error, setError] = useState<string>();
  const running = useRef(false);
  const roomCount = useRef(0);
  const lastRead = useRef(0);

  const read = useCallback(async () => {
    if (running.current) {
      return;
    }
    running.current = true;
    lastRead.current = Date.now();
    try {
      const [nodes, rooms] = await Promise.all([serverApi.nodes(), serverApi.liveRooms()]);
      const lists = await Promise.all(rooms.map((room) => serverApi.participants(room.id).catch(() => [])));
      roomCount.current = rooms.length;
      setLive({
        nodes,
        rooms,
        participants: Object.fromEntries(rooms.map((room, i) => [room.id, lists[i]])),
        at: Date.now(),
      });
      setError(undefined);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      running.current = false;
    }
  }, []);

  useEffect(() => {
    void read();
    const timer = setInterval(() => {
      const every = Math.max(EVERY_MS, ((2 + roomCount.current) * 1000) / MAX_REQUESTS_PER_SECOND);
      if (document.visibilityState === 'visible' && Date.now() - lastRead.current >= every - 250) {
        void read();
      }
    }, 500);
    const onVisible = () => document.visibilityState === 'visible' && void read();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [read]);

  return { live, error, refresh: () => void read() };
}
