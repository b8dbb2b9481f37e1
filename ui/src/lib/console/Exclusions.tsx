'use client';

import { ShieldBan } from 'lucide-react';
import { api, errorMessage } from '../api';
import { ConfirmButton } from './ConfirmButton';
import { useList } from './useList';

interface Exclusion {
  id: string;
  identity: string;
  address: string | null;
  reason: string;
  createdBy: string;
  createdAt: string;
  until: string;
}

/** Calls an exclusion action; throws its error message (shown in the dialog). */
async function post(path: string, body?: unknown): Promise<void> {
  const response = await api(path, { method: 'POST', body: body ?? {} });
  if (!response.ok) {
    throw new Error(await errorMessage(response));
  }
}

/**
 * Who is kept out of Meet someone now (automatically after reports from several people, by
 * identity and address), with Lift and Extend.
 */
export function Exclusions() {
  const {
    items: exclusions,
    error,
    reload: load,
  } = useList<Exclusion>('/api/admin/match-exclusions?limit=200', 'exclusions', 5000);
  return (
    <section aria-labelledby="exclusions-heading" className="console-section">
      <h2 id="exclusions-heading">
        <ShieldBan size={18} aria-hidden /> Kept out of Meet someone
      </h2>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!exclusions && !error && <p role="status">Loading…</p>}
      {exclusions?.length === 0 && (
        <div className="card">
          <p className="muted">
            Nobody is kept out. Someone reported by several different people is kept out for a while,
            automatically, and shows here.
          </p>
        </div>
      )}
      {exclusions && exclusions.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Who</th>
              <th scope="col">Address</th>
              <th scope="col">Why</th>
              <th scope="col">Until</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {exclusions.map((x) => (
              <tr key={x.id}>
                <td className="mono">{x.identity}</td>
                <td className="mono">{x.address ?? '—'}</td>
                <td>
                  {x.reason}
                  {x.createdBy !== 'auto' && <span className="muted"> (by an operator)</span>}
                </td>
                <td>{new Date(x.until).toLocaleString()}</td>
                <td className="row">
                  <ConfirmButton
                    label="Lift"
                    ariaLabel={`Lift the exclusion of ${x.identity}`}
                    title={`Let ${x.identity} meet people again?`}
                    confirm="Lift"
                    className="secondary"
                    onConfirm={async () => {
                      await post(`/api/admin/match-exclusions/${x.id}/lift`);
                      await load();
                    }}
                  />
                  <ConfirmButton
                    label="Extend a day"
                    ariaLabel={`Extend the exclusion of ${x.identity} by a day`}
                    title={`Keep ${x.identity} out 24 hours longer?`}
                    confirm="Extend"
                    className="secondary"
                    onConfirm={async () => {
                      await post(`/api/admin/match-exclusions/${x.id}/extend`, { hours: 24 });
                      await load();
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
