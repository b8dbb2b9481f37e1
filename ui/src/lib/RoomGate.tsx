'use client';

import { useEffect, useState } from 'react';
import type { RoomPolicy } from '@switchboard/protocol';
import { api, currentUser, errorMessage } from './api';
import { Meeting } from './Meeting';
import { Notice } from './Notice';

/** An invitation: a join token the link carried in its fragment (`/r/<id>#token=<jwt>`). */
interface Invite {
  token: string;
  name: string;
}

/**
 * The invitation of this page: from the fragment (which never reaches a server or its logs; it is
 * moved to this tab's storage and removed from the address bar), or kept from before a reload.
 */
function takeInvite(room: string): Invite | undefined {
  const key = `sb:invite:${room}`;
  const fromLink = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromLink) {
    history.replaceState(null, '', window.location.pathname + window.location.search);
    try {
      sessionStorage.setItem(key, fromLink);
    } catch {
      // no storage: this page keeps it in memory
    }
  }
  const token = fromLink ?? sessionStorage.getItem(key);
  if (!token) {
    return undefined;
  }
  try {
    // For the name field only: the gateway and signaling verify the token.
    const bytes = Uint8Array.from(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')), (c) =>
      c.charCodeAt(0),
    );
    const payload = JSON.parse(new TextDecoder().decode(bytes)) as { name?: unknown };
    return typeof payload.name === 'string' ? { token, name: payload.name } : undefined;
  } catch {
    return undefined;
  }
}

/** Looks the link up (label, does it exist) and who is signed in, then shows the meeting. */
export function RoomGate({ room, initialName }: { room: string; initialName: string }) {
  const [state, setState] = useState<
    | { kind: 'loading' }
    | { kind: 'missing'; message: string }
    | { kind: 'ready'; label: string; name: string; policy: RoomPolicy; invite?: Invite }
  >({ kind: 'loading' });

  useEffect(() => {
    void (async () => {
      const invite = takeInvite(room);
      const [response, user] = await Promise.all([api(`/api/rooms/${room}`), currentUser()]);
      if (!response.ok) {
        setState({ kind: 'missing', message: await errorMessage(response) });
        return;
      }
      const info = (await response.json()) as { name: string; policy: RoomPolicy };
      setState({
        kind: 'ready',
        label: info.name,
        policy: info.policy,
        name: invite?.name || initialName || user?.displayName || '',
        invite,
      });
    })().catch((error: unknown) => setState({ kind: 'missing', message: (error as Error).message }));
  }, [room, initialName]);

  if (state.kind === 'loading') {
    return (
      <main>
        <div className="center">
          <p role="status">Opening the meeting…</p>
        </div>
      </main>
    );
  }
  if (state.kind === 'missing') {
    return <Notice title="Cannot open this meeting" message={state.message} />;
  }
  return (
    <Meeting
      room={room}
      roomName={state.label}
      policy={state.policy}
      initialName={state.name}
      inviteToken={state.invite?.token}
    />
  );
}
