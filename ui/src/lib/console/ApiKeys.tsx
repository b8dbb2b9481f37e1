'use client';

import { KeyRound, Plus } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api';
import { ConfirmButton } from './ConfirmButton';
import { useList } from './useList';

interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const SCOPES = [
  'rooms:read',
  'rooms:write',
  'participants:write',
  'tokens:create',
  'nodes:read',
  'nodes:write',
];
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

/** API keys of the server API: create (the secret is shown once), list, revoke. */
export function ApiKeys() {
  const { items: keys, error: readError, reload: load } = useList<ApiKey>('/api/admin/api-keys', 'keys');
  /** Why the last create was refused. */
  const [createError, setCreateError] = useState('');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['rooms:read']);
  const [created, setCreated] = useState<string>();

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setCreateError('');
    const response = await api('/api/admin/api-keys', { method: 'POST', body: { name, scopes } });
    if (!response.ok) {
      setCreateError(await errorMessage(response));
      return;
    }
    setCreated(((await response.json()) as { key: string }).key);
    setName('');
    await load();
  };

  return (
    <section aria-labelledby="keys-heading" className="console-section">
      <h2 id="keys-heading">API keys</h2>
      <form className="card" onSubmit={(e) => void create(e)}>
        <h3>New key</h3>
        <label>
          Name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={80}
            placeholder="Billing backend"
            required
          />
        </label>
        <fieldset className="scopes">
          <legend>Scopes</legend>
          {SCOPES.map((scope) => (
            <label key={scope} className="check">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(e) =>
                  setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))
                }
              />
              {scope}
            </label>
          ))}
        </fieldset>
        <div className="row">
          <button type="submit">
            <Plus size={16} aria-hidden /> Create key
          </button>
        </div>
        {created && (
          <p role="status">
            Copy it now, it is not shown again: <code className="secret">{created}</code>
          </p>
        )}
      </form>
      {(createError || readError) && (
        <p className="error" role="alert">
          {createError || readError}
        </p>
      )}
      {keys?.length === 0 && <p className="muted">No API key yet.</p>}
      {keys && keys.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id}>
                <td>
                  <KeyRound size={14} aria-hidden /> {key.name}
                  <div className="muted mono">{key.id}</div>
                </td>
                <td>{key.scopes.join(', ')}</td>
                <td>{when(key.createdAt)}</td>
                <td>{when(key.lastUsedAt)}</td>
                <td>
                  {key.revokedAt ? (
                    <span className="badge">revoked</span>
                  ) : (
                    <ConfirmButton
                      className="danger"
                      label="Revoke"
                      ariaLabel={`Revoke ${key.name}`}
                      title={`Revoke ${key.name}?`}
                      confirm="Revoke"
                      onConfirm={async () => {
                        const response = await api(`/api/admin/api-keys/${encodeURIComponent(key.id)}`, {
                          method: 'DELETE',
                        });
                        if (!response.ok) {
                          throw new Error(await errorMessage(response));
                        }
                        await load();
                      }}
                    >
                      <p>Every call made with it is refused from now on.</p>
                    </ConfirmButton>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
