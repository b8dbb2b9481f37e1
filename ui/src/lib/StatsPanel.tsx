'use client';

import { X } from 'lucide-react';
import type { PeerStats } from '@switchboard/protocol';
import { formatBitrate, formatLoss } from './quality';

const LAYER_NAMES = ['low', 'medium', 'high'];

function layerName(layer: number | undefined): string {
  return layer === undefined ? '–' : (LAYER_NAMES[layer] ?? String(layer));
}

/** What the SFU measures of this participant's media, refreshed every few seconds. */
export function StatsPanel({
  stats,
  names,
  onClose,
}: {
  stats?: PeerStats;
  /** Display names by peer id. */
  names: Map<string, string>;
  onClose: () => void;
}) {
  const outgoing = stats?.transports.find((t) => !t.producing)?.availableOutgoingBitrate;
  const paths = (stats?.transports ?? []).filter((t) => t.remotePort);
  return (
    <aside className="stats" aria-label="Connection statistics">
      <header>
        <h2>Connection</h2>
        <button type="button" className="icon" aria-label="Close statistics" onClick={onClose}>
          <X size={16} aria-hidden />
        </button>
      </header>
      {!stats ? (
        <p className="muted">Measuring…</p>
      ) : (
        <>
          <h3>Sending</h3>
          {stats.producers.length === 0 && <p className="muted">Nothing (no camera or microphone).</p>}
          <table>
            <tbody>
              {stats.producers.flatMap((p) =>
                p.streams.length === 0
                  ? [
                      <tr key={p.producerId}>
                        <th scope="row">{p.kind === 'audio' ? 'Microphone' : 'Camera'}</th>
                        <td colSpan={3}>{p.paused ? 'off' : 'starting…'}</td>
                      </tr>,
                    ]
                  : [...p.streams]
                      .sort((a, b) => (a.rid ?? '').localeCompare(b.rid ?? ''))
                      .map((s) => (
                        <tr key={`${p.producerId}-${s.ssrc}`}>
                          <th scope="row">
                            {p.kind === 'audio' ? 'Microphone' : 'Camera'}
                            {s.rid ? ` ${layerName(Number(s.rid.slice(1)))}` : ''}
                          </th>
                          <td>{formatBitrate(s.bitrate)}</td>
                          <td title="packets lost">{formatLoss(s.fractionLost)}</td>
                          <td title="score (0-10)">{s.score}/10</td>
                        </tr>
                      )),
              )}
            </tbody>
          </table>
          <h3>Receiving{outgoing ? ` (up to ${formatBitrate(outgoing)})` : ''}</h3>
          {stats.consumers.length === 0 && <p className="muted">Nothing yet.</p>}
          <table>
            <tbody>
              {stats.consumers.map((c) => (
                <tr
                  key={c.consumerId}
                  data-peer-id={c.peerId}
                  data-kind={c.kind}
                  data-paused={c.paused}
                  data-layer={c.currentSpatialLayer ?? ''}
                >
                  <th scope="row">
                    {names.get(c.peerId) ?? 'Someone'} · {c.kind === 'audio' ? 'audio' : 'video'}
                    {c.kind === 'video' && c.currentSpatialLayer !== undefined
                      ? ` (${layerName(c.currentSpatialLayer)})`
                      : ''}
                  </th>
                  <td>{c.paused ? 'paused' : formatBitrate(c.stream?.bitrate ?? 0)}</td>
                  <td title="packets lost">{formatLoss(c.stream?.fractionLost ?? 0)}</td>
                  <td title="score (0-10)">{Math.min(c.score, c.producerScore)}/10</td>
                </tr>
              ))}
            </tbody>
          </table>
          {paths.length > 0 && (
            <>
              <h3>Network path (as the server sees you)</h3>
              <table>
                <tbody>
                  {paths.map((t) => (
                    <tr key={t.transportId} data-producing={t.producing} data-remote-port={t.remotePort}>
                      <th scope="row">{t.producing ? 'Sending' : 'Receiving'}</th>
                      <td>
                        {t.protocol?.toUpperCase()} {t.remoteIp}:{t.remotePort}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
          {(() => {
            const rtt = stats.consumers.find((c) => c.stream?.roundTripTime)?.stream?.roundTripTime;
            return rtt ? <p className="muted">Round trip to the server: {Math.round(rtt)} ms</p> : null;
          })()}
        </>
      )}
    </aside>
  );
}
