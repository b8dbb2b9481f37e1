'use client';

import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';

/** Home: create a room (the gateway picks a name) or join one by name. */
export default function Home() {
  const router = useRouter();
  const [room, setRoom] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const go = (roomName: string) => {
    const query = name.trim() ? `?name=${encodeURIComponent(name.trim())}` : '';
    router.push(`/r/${encodeURIComponent(roomName)}${query}`);
  };

  const create = async () => {
    setBusy(true);
    setError('');
    try {
      const response = await fetch('/api/rooms', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(room.trim() ? { name: room.trim().toLowerCase() } : {}),
      });
      const body = (await response.json()) as { name?: string; message?: string };
      if (!response.ok || !body.name) {
        throw new Error(body.message ?? `could not create the room (${response.status})`);
      }
      go(body.name);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };

  const join = (event: FormEvent) => {
    event.preventDefault();
    const roomName = room.trim().toLowerCase();
    if (!/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(roomName)) {
      setError('Room names are 1-64 lowercase letters, digits or dashes.');
      return;
    }
    go(roomName);
  };

  return (
    <main>
      <form className="center" onSubmit={join}>
        <h1>Switchboard</h1>
        <label>
          Your name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Ada" maxLength={64} />
        </label>
        <label>
          Room name
          <input
            value={room}
            onChange={(e) => setRoom(e.target.value)}
            placeholder="team-standup"
            maxLength={64}
          />
        </label>
        <div className="row">
          <button type="submit" disabled={busy || !room.trim()}>
            Join room
          </button>
          <button type="button" className="secondary" onClick={() => void create()} disabled={busy}>
            Create new room
          </button>
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
