'use client';

import { Plus, Webhook } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api';
import { ConfirmButton } from './ConfirmButton';
import { useList } from './useList';

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  allowInternal: boolean;
  description: string;
  createdAt: string;
}

interface Delivery {
  id: string;
  eventType: string;
  roomId: string | null;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
  lastStatusCode: number | null;
  createdAt: string;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

const time = (iso: string | null) => (iso ? new Date(iso).toLocaleTimeString() : '—');

function Deliveries({ endpoint }: { endpoint: Endpoint }) {
  const { items: deliveries, error } = useList<Delivery>(
    `/api/admin/webhooks/${endpoint.id}/deliveries?limit=20`,
    'deliveries',
    3000,
  );
  if (error) {
    return <p className="error">{error}</p>;
  }
  if (!deliveries) {
    return <p role="status">Loading…</p>;
  }
  if (deliveries.length === 0) {
    return <p className="muted">Nothing sent yet: deliveries show here as events happen.</p>;
  }
  return (
    <table className="data">
      <caption>Latest deliveries</caption>
      <thead>
        <tr>
          <th scope="col">Event</th>
          <th scope="col">Status</th>
          <th scope="col">Attempts</th>
          <th scope="col">Last error</th>
          <th scope="col">Created</th>
          <th scope="col">Delivered / next try</th>
        </tr>
      </thead>
      <tbody>
        {deliveries.map((d) => (
          <tr key={d.id}>
            <td>{d.eventType}</td>
            <td>
              <span
                className={`badge ${d.status === 'delivered' ? 'good' : d.status === 'failed' ? 'bad' : 'warn'}`}
              >
                {d.status}
              </span>
            </td>
            <td>{d.attempts}</td>
            <td>{d.lastError ?? (d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : '—')}</td>
            <td>{time(d.createdAt)}</td>
            <td>{d.status === 'delivered' ? time(d.deliveredAt) : time(d.nextAttemptAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Webhook endpoints: register (the secret is shown once), list, their delivery logs, remove. */
export function Webhooks() {
  const {
    items: endpoints,
    error: readError,
    reload: load,
  } = useList<Endpoint>('/api/admin/webhooks', 'webhooks');
  /** Why the last registration was refused. */
  const [createError, setCreateError] = useState('');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState('*');
  const [allowInternal, setAllowInternal] = useState(false);
  const [secret, setSecret] = useState<string>();
  const [open, setOpen] = useState<string>();

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setCreateError('');
    const response = await api('/api/admin/webhooks', {
      method: 'POST',
      body: {
        url,
        events: events
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        allowInternal,
      },
    });
    if (!response.ok) {
      setCreateError(await errorMessage(response));
      return;
    }
    setSecret(((await response.json()) as { secret: string }).secret);
    setUrl('');
    await load();
  };

  return (
    <section aria-labelledby="hooks-heading" className="console-section">
      <h2 id="hooks-heading">Webhooks</h2>
      <form className="card" onSubmit={(e) => void create(e)}>
        <h3>New endpoint</h3>
        <label>
          URL
          <input
            type="url"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="https://example.com/switchboard"
            required
          />
        </label>
        <label>
          Events (comma separated, * for all)
          <input
            value={events}
            onChange={(e) => setEvents(e.target.value)}
            placeholder="room.ended, participant.joined"
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={allowInternal}
            onChange={(e) => setAllowInternal(e.target.checked)}
          />
          Allow an internal address (this host or a private network)
        </label>
        <div className="row">
          <button type="submit">
            <Plus size={16} aria-hidden /> Add endpoint
          </button>
        </div>
        {secret && (
          <p role="status">
            Its signing secret, shown once: <code className="secret">{secret}</code>
          </p>
        )}
      </form>
      {(createError || readError) && (
        <p className="error" role="alert">
          {createError || readError}
        </p>
      )}
      {endpoints?.length === 0 && <p className="muted">No endpoint yet.</p>}
      {endpoints?.map((endpoint) => (
        <article key={endpoint.id} className="card" aria-label={`Webhook ${endpoint.url}`}>
          <div className="row">
            <Webhook size={18} aria-hidden />
            <h3 className="mono">{endpoint.url}</h3>
            <span className="badge">{endpoint.events.join(', ')}</span>
            <span className="spacer" />
            <button
              type="button"
              className="secondary"
              aria-expanded={open === endpoint.id}
              onClick={() => setOpen(open === endpoint.id ? undefined : endpoint.id)}
            >
              Deliveries
            </button>
            <ConfirmButton
              className="danger"
              label="Remove"
              ariaLabel={`Remove ${endpoint.url}`}
              title="Remove this endpoint?"
              confirm="Remove"
              onConfirm={async () => {
                const response = await api(`/api/admin/webhooks/${endpoint.id}`, { method: 'DELETE' });
                if (!response.ok) {
                  throw new Error(await errorMessage(response));
                }
                await load();
              }}
            >
              <p>Nothing more is sent to {endpoint.url}; its delivery log goes with it.</p>
            </ConfirmButton>
          </div>
          {open === endpoint.id && <Deliveries endpoint={endpoint} />}
        </article>
      ))}
    </section>
  );
}
