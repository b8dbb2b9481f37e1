'use client';

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { QualityPoint } from './types';

const COLORS = ['#4f8cff', '#46c08b', '#e5a93a', '#e5484d', '#b07cff', '#3fc6d8'];

/**
 * Each person's bitrate (kbps) over the call, one line each (uPlot); `people` maps a connection
 * (peer id) to its person (identity) and name, so a reconnect continues the same line.
 */
export function QualityChart({
  samples,
  people,
}: {
  samples: QualityPoint[];
  people: Map<string, { key: string; name: string }>;
}) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) {
      return;
    }
    const person = (peerId: string) => people.get(peerId)?.key ?? peerId;
    const peers = [...new Set(samples.map((s) => person(s.peerId)))];
    const nameOf = new Map(
      samples.map((s) => [person(s.peerId), people.get(s.peerId)?.name ?? s.peerId.slice(0, 8)]),
    );
    const times = [...new Set(samples.map((s) => Math.round(new Date(s.at).getTime() / 1000)))].sort(
      (a, b) => a - b,
    );
    const index = new Map(times.map((t, i) => [t, i]));
    const series = peers.map(() => times.map((): number | null => null));
    for (const s of samples) {
      series[peers.indexOf(person(s.peerId))][
        index.get(Math.round(new Date(s.at).getTime() / 1000)) as number
      ] = s.bitrateKbps;
    }
    const plot = new uPlot(
      {
        width: element.clientWidth,
        height: 240,
        axes: [
          { stroke: '#94a0b8', grid: { stroke: '#2c3547' } },
          { stroke: '#94a0b8', grid: { stroke: '#2c3547' }, label: 'kbps' },
        ],
        series: [
          {},
          ...peers.map((peer, i) => ({
            label: nameOf.get(peer),
            stroke: COLORS[i % COLORS.length],
            width: 2,
            spanGaps: true,
          })),
        ],
      },
      [times, ...series],
      element,
    );
    const resize = () => plot.setSize({ width: element.clientWidth, height: 240 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [samples, people]);

  return <div ref={box} className="chart" role="img" aria-label="Bitrate of each participant over time" />;
}
