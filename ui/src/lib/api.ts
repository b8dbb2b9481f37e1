/**
 * The gateway's REST API from the browser: JSON bodies, the CSRF header on state changes, and one
 * transparent retry after refreshing the login session when the access token (15 min) expired.
 */
import { CSRF_HEADER } from '@switchboard/protocol';

export interface ApiOptions {
  method?: string;
  body?: unknown;
}

let refreshing: Promise<boolean> | undefined;

/** Renews the session from the refresh cookie; false when there is none (signed out). */
export function refreshSession(): Promise<boolean> {
  refreshing ??= fetch('/api/auth/refresh', { method: 'POST', headers: { [CSRF_HEADER]: '1' } })
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

export async function api(path: string, options: ApiOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET';
  const send = () =>
    fetch(path, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(method === 'GET' ? {} : { [CSRF_HEADER]: '1' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  const response = await send();
  if (response.status === 401 && !path.startsWith('/api/auth/') && (await refreshSession())) {
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
