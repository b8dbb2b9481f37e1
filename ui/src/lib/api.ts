/**
 * The gateway's REST API from the browser: JSON bodies, the CSRF header on state changes, and one
 * transparent retry after refreshing the login session when the access token (15 min) expired.
 */
import { CSRF_HEADER } from '@switchboard/protocol';

export interface ApiOptions {
  method?: string;
  body?: unknown;
  /**
   * Send the CSRF header on reads too: the server API (`/api/v1/`) takes the session cookie only
   * with it (an operator's console), whatever the method.
   */
  session?: boolean;
}

let refreshing: Promise<boolean> | undefined;

/** Where tabs note when one of them last renewed the session (their cookies are shared). */
const RENEWED_AT = 'sb-session-renewed-at';

/**
 * Renews the session from the refresh cookie; false when there is none (signed out). One tab at a
 * time (Web Locks): a tab whose refused request left after another tab renewed, or that waited
 * while one did, uses the cookies that one got instead of spending the refresh token again (the
 * gateway's grace covers browsers without locks). `since`: when the refused request was sent.
 */
export function refreshSession(since = Date.now()): Promise<boolean> {
  if (refreshing) {
    return refreshing;
  }
  const renew = async (): Promise<boolean> => {
    if (Number(localStorage.getItem(RENEWED_AT) ?? 0) >= since) {
      return true;
    }
    const ok = await fetch('/api/auth/refresh', { method: 'POST', headers: { [CSRF_HEADER]: '1' } })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) {
      localStorage.setItem(RENEWED_AT, String(Date.now()));
    }
    return ok;
  };
  // The lock is held until renew() settles (request() resolves with its result).
  const coordinated = navigator.locks
    ? navigator.locks.request('sb-session-refresh', () => renew()).then((ok) => ok)
    : renew();
  const current = coordinated
    .catch(() => false)
    .finally(() => {
      refreshing = undefined;
    });
  refreshing = current;
  return current;
}

export async function api(path: string, options: ApiOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET';
  const send = () =>
    fetch(path, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(method === 'GET' && !options.session ? {} : { [CSRF_HEADER]: '1' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  const sentAt = Date.now();
  const response = await send();
  // A 401 for a request that left before another tab renewed the session is stale: retry with
  // the new cookies rather than renew again.
  if (response.status === 401 && !path.startsWith('/api/auth/') && (await refreshSession(sentAt))) {
    return send();
  }
  return response;
}

/** The error message of a failed response, with its first letter capitalised for display. */
export async function errorMessage(response: Response): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as { message?: string };
  const message = body.message ?? `request failed (${response.status})`;
  return message.charAt(0).toUpperCase() + message.slice(1);
}

export interface Me {
  id: string;
  email: string;
  displayName: string;
  operator: boolean;
}

/** The signed-in user, or undefined (renewing the session first when it expired). */
export async function currentUser(): Promise<Me | undefined> {
  const response = await api('/api/me');
  if (!response.ok) {
    return undefined;
  }
  return ((await response.json()) as { user: Me }).user;
}
