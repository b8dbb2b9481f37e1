'use client';

import { useEffect, useState } from 'react';
import type { RoomPolicy } from '@switchboard/protocol';
import { api, currentUser, errorMessage } from './api';
import { Meeting } from './Meeting';
import { Notice } from './Notice';

/** Looks the link up (label, does it exist) and who is signed in, then shows the meeting. */
export function RoomGate({ room, initialName }: { room: string; initialName: string }) {
  const [state, setState] = useState<
    | { kind: 'loading' }
    | { kind: 'missing'; message: string }
    | { kind: 'ready'; label: string; name: string; policy: RoomPolicy }
  >({ kind: 'loading' });

  useEffect(() => {
    void (async () => {
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
        name: initialName || user?.displayName || '',
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
  return <Meeting room={room} roomName={state.label} policy={state.policy} initialName={state.name} />;
}
