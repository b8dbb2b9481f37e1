'use client';

import { ArrowLeft, ChartLine } from 'lucide-react';
import { useSearchParams } from 'next/navigation';
import { useEffect, useState } from 'react';
import { api, currentUser, errorMessage, type Me } from '../api';
import { duration, when, type CallSummary } from './types';

/** Past calls: a host's meetings', or (operators) every call; `?room=` narrows to one meeting. */
export function CallList() {
  const room = useSearchParams().get('room') ?? '';
  const [me, setMe] = useState<Me | null>();
  const [calls, setCalls] = useState<CallSummary[]>();
  const [error, setError] = useState('');

  useEffect(() => {
    void (async () => {
      const user = await currentUser();
      setMe(user ?? null);
      if (!user) {
        return;
      }
      const response = await api(`/api/calls?limit=100${room ? `&room=${encodeURIComponent(room)}` : ''}`);
      if (response.ok) {
        setCalls(((await response.json()) as { calls: CallSummary[] }).calls);
      } else {
        setError(await errorMessage(response));
      }
    })();
  }, [room]);

  return (
    <main>
      <div className="center wide">
        <div className="row">
          <a className="button secondary" href="/">
            <ArrowLeft size={16} aria-hidden /> Home
          </a>
          <h1>
            <ChartLine size={22} aria-hidden /> Past calls
          </h1>
        </div>
        {me === null && (
          <p>
            <a href="/signin?next=%2Fcalls">Sign in</a> to see the calls of the meetings you host.
          </p>
        )}
        {me && (
          <p className="muted">
            {me.operator ? 'Every call on this deployment' : 'Calls of the meetings you host'}
            {room ? ` in meeting ${room}` : ''}, newest first.
          </p>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {me && !calls && !error && <p role="status">Loading…</p>}
        {calls?.length === 0 && (
          <div className="card">
            <h2>No calls yet</h2>
            <p className="muted">
              A call shows here once people have met in one of {me?.operator ? 'the' : 'your'} meetings.
            </p>
          </div>
        )}
        {calls && calls.length > 0 && (
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Meeting</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">People</th>
                <th scope="col">Peak</th>
              </tr>
            </thead>
            <tbody>
              {calls.map((call) => (
                <tr key={call.id}>
                  <td>
                    <a href={`/calls/${call.id}`}>{call.roomName ?? call.roomId}</a>
                  </td>
                  <td>{when(call.startedAt)}</td>
                  <td>
                    {call.endedAt
                      ? duration(call.durationSeconds)
                      : `live, ${duration(call.durationSeconds)}`}
                  </td>
                  <td>{call.participants}</td>
                  <td>{call.peakParticipants}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </main>
  );
}
