'use client';

import { ArrowLeft } from 'lucide-react';
import { useEffect, useMemo, useState } from 'react';
import { api, errorMessage } from '../api';
import { QualityChart } from './QualityChart';
import { duration, when, type CallParticipant, type CallSummary, type QualityPoint } from './types';

const pct = (p: { p50: number | null; p95: number | null }, unit: string, digits = 0) =>
  p.p50 === null ? '—' : `${p.p50.toFixed(digits)} / ${(p.p95 ?? p.p50).toFixed(digits)} ${unit}`;

/** One past call: when, how long, who (join and leave, quality p50/p95) and a timeline chart. */
export function CallPage({ id }: { id: string }) {
  const [call, setCall] = useState<CallSummary & { participantList: CallParticipant[] }>();
  const [samples, setSamples] = useState<QualityPoint[]>([]);
  const [error, setError] = useState('');

  useEffect(() => {
    void (async () => {
      const response = await api(`/api/calls/${encodeURIComponent(id)}`);
      if (!response.ok) {
        setError(response.status === 401 ? 'Sign in to see this call.' : await errorMessage(response));
        return;
      }
      const body = (await response.json()) as {
        call: CallSummary & { participantList: CallParticipant[] };
        samples: QualityPoint[];
      };
      setCall(body.call);
      setSamples(body.samples);
    })();
  }, [id]);

  // A person who reconnected has several rows (one per connection) and one line in the chart.
  const people = useMemo(
    () => new Map(call?.participantList.map((p) => [p.peerId, { key: p.sub, name: p.displayName }]) ?? []),
    [call],
  );

  return (
    <main>
      <div className="center wide">
        <div className="row">
          <a className="button secondary" href="/calls">
            <ArrowLeft size={16} aria-hidden /> Past calls
          </a>
          <h1>{call ? (call.roomName ?? call.roomId) : 'Call'}</h1>
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {!call && !error && <p role="status">Loading…</p>}
        {call && (
          <>
            <p className="muted">
              {when(call.startedAt)} · {call.endedAt ? duration(call.durationSeconds) : 'still going'} ·{' '}
              {call.participants} {call.participants === 1 ? 'person' : 'people'}, at most{' '}
              {call.peakParticipants} at once
            </p>
            <section className="card" aria-label="Quality over time">
              <h2>Bitrate received by the SFU over time</h2>
              {samples.length === 0 ? (
                <p className="muted">
                  No quality samples for this call: they are taken while participants look at their call
                  statistics.
                </p>
              ) : (
                <QualityChart samples={samples} people={people} />
              )}
            </section>
            <table className="data">
              <caption>Participants (quality: median / 95th percentile)</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined</th>
                  <th scope="col">Left</th>
                  <th scope="col">Bitrate</th>
                  <th scope="col">Loss</th>
                  <th scope="col">RTT</th>
                </tr>
              </thead>
              <tbody>
                {call.participantList.map((p) => (
                  <tr key={p.peerId}>
                    <td>{p.displayName}</td>
                    <td>{p.role}</td>
                    <td>{new Date(p.joinedAt).toLocaleTimeString()}</td>
                    <td>
                      {p.leftAt ? new Date(p.leftAt).toLocaleTimeString() : '—'}
                      {p.removed ? ' (removed)' : ''}
                    </td>
                    <td>{pct(p.bitrateKbps, 'kbps')}</td>
                    <td>{pct(p.lossPercent, '%', 1)}</td>
                    <td>{pct(p.rttMs, 'ms')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </div>
    </main>
  );
}
