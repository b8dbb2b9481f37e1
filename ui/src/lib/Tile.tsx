'use client';

import { SignalHigh, SignalLow, SignalMedium } from 'lucide-react';
import { useEffect, useRef, type ReactNode } from 'react';
import type { TileView } from './CallClient';
import { QUALITY_LABELS, type Quality } from './quality';

export function Video({
  stream,
  muted,
  label,
  className,
  sinkId,
}: {
  stream: MediaStream;
  muted: boolean;
  label: string;
  className?: string;
  /** The audio output to play through (the chosen speaker). */
  sinkId?: string;
}) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) {
      ref.current.srcObject = stream;
    }
  }, [stream]);
  useEffect(() => {
    const video = ref.current as (HTMLVideoElement & { setSinkId?: (id: string) => Promise<void> }) | null;
    if (sinkId && video?.setSinkId) {
      video.setSinkId(sinkId).catch(() => {}); // gone since: the default output plays it
    }
  }, [sinkId]);
  return <video ref={ref} className={className} autoPlay playsInline muted={muted} aria-label={label} />;
}

const QUALITY_ICONS = { good: SignalHigh, fair: SignalMedium, poor: SignalLow };

/** The microphone level (dBov) as a 0..1 bar: -60 dBov and below is empty, -10 and above full. */
function levelFraction(volume: number | undefined): number {
  if (volume === undefined) {
    return 0;
  }
  return Math.min(1, Math.max(0, (volume + 60) / 50));
}

/**
 * One participant's tile: their video (or a state in its place), name, microphone level, the
 * connection quality, an outline while they are the active speaker. With `onView`, reports
 * whether the tile can be seen and how tall it is, so the SFU sends only what it needs.
 */
export function Tile({
  stream,
  label,
  muted,
  local,
  speaking,
  level,
  audio = true,
  quality,
  onView,
  overlay,
  floating,
  footer,
  actions,
  sinkId,
  ...data
}: {
  stream?: MediaStream;
  label: string;
  muted: boolean;
  local?: boolean;
  speaking: boolean;
  level?: number;
  /** Has a microphone level to show (not a screen share). */
  audio?: boolean;
  quality?: Quality;
  onView?: (view: TileView) => void;
  /** Shown instead of the video (reconnecting). */
  overlay?: ReactNode;
  /** Shown over the video without hiding it (reactions). */
  floating?: ReactNode;
  /** The name line. */
  footer: ReactNode;
  actions?: ReactNode;
  /** The audio output for its sound. */
  sinkId?: string;
  'data-peer-id'?: string;
  'data-presence'?: string;
  'data-pinned'?: boolean;
  'data-source'?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const report = useRef(onView);
  report.current = onView;
  const reporting = !!onView;
  useEffect(() => {
    const element = ref.current;
    if (!element || !reporting) {
      return;
    }
    let intersecting = true;
    const send = () =>
      report.current?.({
        visible: intersecting && !document.hidden,
        height: element.getBoundingClientRect().height * (window.devicePixelRatio || 1),
      });
    const intersection = new IntersectionObserver((entries) => {
      intersecting = entries.some((entry) => entry.isIntersecting);
      send();
    });
    const resize = new ResizeObserver(send);
    intersection.observe(element);
    resize.observe(element);
    document.addEventListener('visibilitychange', send);
    return () => {
      intersection.disconnect();
      resize.disconnect();
      document.removeEventListener('visibilitychange', send);
    };
  }, [reporting]);
  const QualityIcon = quality && QUALITY_ICONS[quality];
  return (
    <div
      ref={ref}
      className={local ? 'tile local' : 'tile'}
      data-speaking={speaking}
      data-quality={quality ?? 'unknown'}
      {...data}
    >
      {overlay ?? (stream && <Video stream={stream} muted={muted} label={label} sinkId={sinkId} />)}
      <span className="name">
        {audio && (
          <span className="level" aria-hidden style={{ transform: `scaleY(${levelFraction(level)})` }} />
        )}
        {footer}
        {QualityIcon && (
          <span
            className={`quality ${quality}`}
            title={QUALITY_LABELS[quality]}
            role="img"
            aria-label={QUALITY_LABELS[quality]}
          >
            <QualityIcon size={14} aria-hidden />
          </span>
        )}
      </span>
      {floating}
      {actions}
    </div>
  );
}
