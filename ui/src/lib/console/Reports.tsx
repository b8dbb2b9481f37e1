'use client';

import { Flag } from 'lucide-react';
import { useList } from './useList';

interface Report {
  id: string;
  matchId: string;
  reporter: string;
  reported: string;
  reason: string;
  createdAt: string;
}

/** The moderation list of Meet someone: who reported whom, why and when (newest first). */
export function Reports() {
  const { items: reports, error } = useList<Report>('/api/admin/match-reports?limit=200', 'reports', 5000);
  const counts = new Map<string, number>();
  for (const r of reports ?? []) {
    counts.set(r.reported, (counts.get(r.reported) ?? 0) + 1);
  }
  return (
    <section aria-labelledby="reports-heading" className="console-section">
      <h2 id="reports-heading">
        <Flag size={18} aria-hidden /> Reports from Meet someone
      </h2>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!reports && !error && <p role="status">Loading…</p>}
      {reports?.length === 0 && (
        <div className="card">
          <p className="muted">
            No reports. They show here when someone reports a stranger they were matched with.
          </p>
        </div>
      )}
      {reports && reports.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Reported</th>
              <th scope="col">Reason</th>
              <th scope="col">By</th>
              <th scope="col">Match</th>
            </tr>
          </thead>
          <tbody>
            {reports.map((r) => (
              <tr key={r.id}>
                <td>{new Date(r.createdAt).toLocaleString()}</td>
                <td className="mono">
                  {r.reported}
                  {(counts.get(r.reported) ?? 0) > 1 && (
                    <span className="badge bad nowrap"> {counts.get(r.reported)} reports</span>
                  )}
                </td>
                <td>{r.reason}</td>
                <td className="mono">{r.reporter}</td>
                <td className="mono nowrap">{r.matchId.slice(0, 8)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
