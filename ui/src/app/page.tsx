'use client';

import { ChartLine, Copy, Gauge, LogOut, Plus, ScrollText, Users, Video } from 'lucide-react';
import { useRouter } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import type { RoomPolicy } from '@switchboard/protocol';
import { api, currentUser, errorMessage, type Me } from '@/lib/api';

interface MyRoom {
  id: string;
  name: string;
  policy: RoomPolicy;
  path: string;
  role: string;
  createdAt: string;
}

/** A pasted link or bare id → the room id, or undefined. */
function roomFromLink(text: string): string | undefined {
  const match = /(?:\/r\/)?([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)\/?(?:[?#].*)?$/.exec(text.trim());
  return match?.[1];
}

/** Home: signed out, sign in or open a link; signed in, create meetings and see "my meetings". */
export default function Home() {
  const router = useRouter();
  const [me, setMe] = useState<Me | null>();
  const [rooms, setRooms] = useState<MyRoom[]>([]);
  const [name, setName] = useState('');
  const [policy, setPolicy] = useState<RoomPolicy>('open');
  const [link, setLink] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState('');

  useEffect(() => {
    void (async () => {
      const user = await currentUser();
      setMe(user ?? null);
      if (user) {
        const response = await api('/api/rooms');
        if (response.ok) {
          setRooms(((await response.json()) as { rooms: MyRoom[] }).rooms);
        }
      }
    })();
  }, []);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    const response = await api('/api/rooms', {
      method: 'POST',
      body: { ...(name.trim() ? { name: name.trim() } : {}), policy },
    });
    if (!response.ok) {
      setError(await errorMessage(response));
      setBusy(false);
      return;
    }
    const room = (await response.json()) as MyRoom;
    router.push(room.path);
  };

  const open = (event: FormEvent) => {
    event.preventDefault();
    const id = roomFromLink(link);
    if (!id) {
      setError('Paste a meeting link like https://…/r/abc123, or its last part.');
      return;
    }
    router.push(`/r/${id}`);
  };

  const signOut = async () => {
    await api('/api/auth/logout', { method: 'POST' });
    setMe(null);
    setRooms([]);
  };

  const copy = (room: MyRoom) => {
    void navigator.clipboard
      ?.writeText(`${window.location.origin}${room.path}`)
      .then(() => setCopied(room.id));
  };

  const joinByLink = (
    <form className="card" onSubmit={open}>
      <h2>Join with a link</h2>
      <label>
        Meeting link
        <input value={link} onChange={(e) => setLink(e.target.value)} placeholder="https://…/r/…" />
      </label>
      <button type="submit" className="secondary" disabled={!link.trim()}>
        <Video size={16} aria-hidden /> Open meeting
      </button>
    </form>
  );

  if (me === undefined) {
    return (
      <main>
        <div className="center">
          <p role="status">Loading…</p>
        </div>
      </main>
    );
  }

  if (me === null) {
    return (
      <main>
        <div className="center">
          <h1>Switchboard</h1>
          <p className="muted">
            Video meetings you host yourself. Sign in to create meetings; guests join with a link.
          </p>
          <div className="row">
            <a className="button" href="/signin">
              Sign in
            </a>
            <a className="button secondary" href="/signup">
              Create account
            </a>
          </div>
          <a className="button secondary" href="/meet">
            <Users size={16} aria-hidden /> Meet someone
          </a>
          {joinByLink}
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
        </div>
      </main>
    );
  }

  return (
    <main>
      <div className="center wide">
        <div className="row">
          <h1>Hello, {me.displayName}</h1>
          <span className="spacer" />
          <a className="button secondary" href="/meet">
            <Users size={16} aria-hidden /> Meet someone
          </a>
          <a className="button secondary" href="/calls">
            <ChartLine size={16} aria-hidden /> Past calls
          </a>
          {me.operator && (
            <a className="button secondary" href="/console">
              <Gauge size={16} aria-hidden /> Console
            </a>
          )}
          {me.operator && (
            <a className="button secondary" href="/logs/">
              <ScrollText size={16} aria-hidden /> Logs
            </a>
          )}
          <button type="button" className="secondary" onClick={() => void signOut()}>
            <LogOut size={16} aria-hidden /> Sign out
          </button>
        </div>
        <form className="card" onSubmit={(e) => void create(e)}>
          <h2>New meeting</h2>
          <label>
            Meeting name
            <input
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="Team standup"
              maxLength={80}
            />
          </label>
          <label>
            Who can join
            <select value={policy} onChange={(e) => setPolicy(e.target.value as RoomPolicy)}>
              <option value="open">Anyone with the link</option>
              <option value="lobby">Guests wait in a lobby until a host admits them</option>
              <option value="locked">Nobody new (locked)</option>
            </select>
          </label>
          <button type="submit" disabled={busy}>
            <Plus size={16} aria-hidden /> Create meeting
          </button>
        </form>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <section className="card" aria-label="My meetings">
          <h2>My meetings</h2>
          {rooms.length === 0 ? (
            <p className="muted">No meetings yet. Create one above and share its link.</p>
          ) : (
            <ul className="rooms">
              {rooms.map((room) => (
                <li key={room.id}>
                  <a href={room.path}>{room.name}</a>
                  <span className="badge">{room.policy}</span>
                  <span className="badge">{room.role}</span>
                  <button
                    type="button"
                    className="icon"
                    aria-label={`Copy the link of ${room.name}`}
                    onClick={() => copy(room)}
                  >
                    <Copy size={16} aria-hidden />
                  </button>
                  {copied === room.id && <span className="muted">Copied</span>}
                </li>
              ))}
            </ul>
          )}
        </section>
        {joinByLink}
      </div>
    </main>
  );
}
