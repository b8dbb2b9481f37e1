'use client';

import { useSearchParams } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorMessage, refreshSession } from './api';
import { nextPath } from './nextPath';

/** Sign in or sign up; afterwards goes to `?next=` (same-site paths only) or home. */
export function AuthForm({ mode }: { mode: 'signin' | 'signup' }) {
  const params = useSearchParams();
  const next = nextPath(params.get('next'));
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  // The button works once React handles the submit: before that a click would send the form
  // natively (a reload that loses what was typed). The inputs are uncontrolled, so whatever was
  // typed before hydration is read on submit.
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);

  // Already signed in (a refresh cookie): go on.
  useEffect(() => {
    if (mode === 'signin') {
      void refreshSession().then((ok) => ok && window.location.assign(next));
    }
  }, [mode, next]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const field = (name: string) => String(form.get(name) ?? '');
    const email = field('email');
    const password = field('password');
    setBusy(true);
    setError('');
    const response = await api(mode === 'signin' ? '/api/auth/login' : '/api/auth/register', {
      method: 'POST',
      body: mode === 'signin' ? { email, password } : { email, password, displayName: field('displayName') },
    });
    if (!response.ok) {
      setError(await errorMessage(response));
      setBusy(false);
      return;
    }
    window.location.assign(next);
  };

  return (
    <main>
      <form className="center" method="post" onSubmit={(e) => void submit(e)}>
        <h1>{mode === 'signin' ? 'Sign in' : 'Create your account'}</h1>
        {mode === 'signup' && (
          <label>
            Your name
            <input name="displayName" maxLength={64} required autoComplete="name" />
          </label>
        )}
        <label>
          Email
          <input type="email" name="email" required autoComplete="email" />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            minLength={mode === 'signup' ? 10 : 1}
            required
            autoComplete={mode === 'signin' ? 'current-password' : 'new-password'}
          />
        </label>
        {mode === 'signup' && <p className="muted">At least 10 characters.</p>}
        <button type="submit" disabled={busy || !ready}>
          {mode === 'signin' ? 'Sign in' : 'Create account'}
        </button>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <p className="muted">
          {mode === 'signin' ? (
            <>
              No account? <a href={`/signup?next=${encodeURIComponent(next)}`}>Create one</a>
            </>
          ) : (
            <>
              Have an account? <a href={`/signin?next=${encodeURIComponent(next)}`}>Sign in</a>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
