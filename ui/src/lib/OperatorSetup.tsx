'use client';

import { useSearchParams } from 'next/navigation';
import { useEffect, useState } from 'react';
import { api, currentUser, errorMessage, type Me } from './api';

/**
 * The deployment's first operator: a signed-in account presents the one-time setup code that
 * `npm start` (or the gateway's log) printed, and may then open the logs.
 */
export function OperatorSetup() {
  const code = useSearchParams().get('code') ?? '';
  const [me, setMe] = useState<Me | null>();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void currentUser().then((user) => setMe(user ?? null));
  }, []);

  const here = `/setup?code=${encodeURIComponent(code)}`;
  const claim = async () => {
    setBusy(true);
    setError('');
    const response = await api('/api/auth/operator-setup', { method: 'POST', body: { code } });
    if (response.ok) {
      setMe(((await response.json()) as { user: Me }).user);
    } else {
      setError(await errorMessage(response));
    }
    setBusy(false);
  };

  return (
    <main>
      <section className="center">
        <h1>Operator setup</h1>
        {!code ? (
          <p className="error" role="alert">
            This link has no setup code. Use the one <code>npm start</code> printed (or the gateway&apos;s
            log), as it is.
          </p>
        ) : me === undefined ? (
          <p className="muted">Checking who you are…</p>
        ) : me === null ? (
          <>
            <p>Sign in first; the account you use becomes this deployment&apos;s operator.</p>
            <p className="row">
              <a className="button" href={`/signin?next=${encodeURIComponent(here)}`}>
                Sign in
              </a>
              <a href={`/signup?next=${encodeURIComponent(here)}`}>Create an account</a>
            </p>
          </>
        ) : me.operator ? (
          <>
            <p role="status">{me.displayName}, you are an operator of this deployment.</p>
            <p className="row">
              <a className="button" href="/logs/">
                Open the logs
              </a>
              <a href="/">Home</a>
            </p>
          </>
        ) : (
          <>
            <p>
              Make <strong>{me.displayName}</strong> ({me.email}) this deployment&apos;s operator? Operators
              read every service&apos;s logs, which name every meeting. The code works once.
            </p>
            <button type="button" disabled={busy} onClick={() => void claim()}>
              Become operator
            </button>
            {error && (
              <p className="error" role="alert">
                {error}
              </p>
            )}
          </>
        )}
      </section>
    </main>
  );
}
