'use client';

import { Lock, Pencil, RotateCw, Search, Send, Trash2, X } from 'lucide-react';
import {
  Fragment,
  useEffect,
  useRef,
  useState,
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
} from 'react';
import { CHAT_MAX_CHARS, type ChatMessage, type ChatSearchHit } from '@switchboard/protocol';
import type { ChatClient, ChatSnapshot, PendingMessage } from './ChatClient';
import type { RemoteParticipant } from './CallClient';

/** http(s) links only; trailing punctuation stays text. */
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)\]]/gi;

/** Text with its links made clickable, as React nodes (never HTML: a message is text). */
export function linkify(text: string): ReactNode[] {
  const nodes: ReactNode[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    if (start > last) {
      nodes.push(text.slice(last, start));
    }
    nodes.push(
      <a key={start} href={match[0]} target="_blank" rel="noopener noreferrer nofollow">
        {match[0]}
      </a>,
    );
    last = start + match[0].length;
  }
  if (last < text.length) {
    nodes.push(text.slice(last));
  }
  return nodes;
}

const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function Privacy({ message, mySub }: { message: ChatMessage; mySub?: string }) {
  if (!message.to) {
    return null;
  }
  const label = message.from.sub === mySub ? `private to ${message.to.displayName}` : 'private to you';
  return (
    <span className="private">
      <Lock size={12} aria-hidden /> {label}
    </span>
  );
}

/** The chat side panel: messages, the outbox's pending ones, search, typing, and the composer. */
export function ChatPanel({
  chat,
  snapshot,
  participants,
  onClose,
}: {
  chat: ChatClient;
  snapshot: ChatSnapshot;
  participants: RemoteParticipant[];
  onClose: () => void;
}) {
  const [draft, setDraft] = useState('');
  const [to, setTo] = useState('');
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<ChatSearchHit[]>();
  const [editing, setEditing] = useState<{ seq: number; body: string }>();
  const [error, setError] = useState('');
  const listRef = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);
  const recipient = participants.find((p) => p.peerId === to);

  useEffect(() => {
    chat.setOpen(true);
    return () => chat.setOpen(false);
  }, [chat]);

  // Follow new messages while the reader is at the bottom; leave them alone while scrolled up.
  useEffect(() => {
    const list = listRef.current;
    if (list && stickToBottom.current) {
      list.scrollTop = list.scrollHeight;
    }
  }, [snapshot.messages.length, snapshot.pending.length, results]);

  // A private recipient who left: back to everyone.
  useEffect(() => {
    if (to && !recipient) {
      setTo('');
    }
  }, [to, recipient]);

  const attempt = (action: () => Promise<unknown>) => {
    setError('');
    action().catch((e: unknown) => setError((e as Error).message.replace(/^chat\w+: /, '')));
  };

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    const body = draft.trim();
    if (!body) {
      return;
    }
    setDraft('');
    stickToBottom.current = true;
    attempt(() =>
      chat.send(
        body,
        recipient ? { peerId: recipient.peerId, displayName: recipient.displayName } : undefined,
      ),
    );
  };

  const onKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      send();
      event.preventDefault();
    }
  };

  const search = (event: FormEvent) => {
    event.preventDefault();
    if (!query.trim()) {
      setResults(undefined);
      return;
    }
    attempt(async () => setResults(await chat.search(query.trim())));
  };

  const pendingLabel = (p: PendingMessage) =>
    p.state === 'sending'
      ? 'Sending…'
      : p.state === 'waiting'
        ? snapshot.connected
          ? 'Waiting to send…'
          : 'Offline: will be sent when the connection is back'
        : `Not sent: ${p.failed ?? 'refused'}`;

  return (
    <aside className="chat" aria-label="Chat">
      <header className="chat-header">
        <h2>Chat</h2>
        <form role="search" className="chat-search" onSubmit={search}>
          <input
            type="search"
            aria-label="Search messages"
            placeholder="Search messages"
            value={query}
            maxLength={200}
            onChange={(e) => {
              setQuery(e.target.value);
              if (!e.target.value) {
                setResults(undefined);
              }
            }}
          />
          <button type="submit" className="icon" aria-label="Search">
            <Search size={16} aria-hidden />
          </button>
        </form>
        <button type="button" className="icon" aria-label="Close chat" onClick={onClose}>
          <X size={16} aria-hidden />
        </button>
      </header>
      {!snapshot.connected && (
        <p className="chat-state" role="status">
          Reconnecting: messages you write wait here and are sent when the connection is back.
        </p>
      )}
      {results ? (
        <section className="chat-results" aria-label="Search results">
          <p className="muted">
            {results.length === 0 ? `Nothing matches “${query}”.` : `${results.length} found for “${query}”`}{' '}
            <button type="button" className="link" onClick={() => setResults(undefined)}>
              Back to the conversation
            </button>
          </p>
          <ol className="messages">
            {results.map((hit) => (
              <li key={hit.message.seq} className="message">
                <div className="meta">
                  <strong>{hit.message.from.displayName}</strong>
                  <Privacy message={hit.message} mySub={snapshot.mySub} />
                  <time dateTime={hit.message.sentAt}>{time(hit.message.sentAt)}</time>
                </div>
                <p className="body">
                  {hit.snippet.map((part, i) =>
                    part.match ? <mark key={i}>{part.text}</mark> : <Fragment key={i}>{part.text}</Fragment>,
                  )}
                </p>
              </li>
            ))}
          </ol>
        </section>
      ) : (
        <ol
          className="messages"
          ref={listRef}
          aria-label="Messages"
          aria-live="polite"
          onScroll={(e) => {
            const el = e.currentTarget;
            stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }}
        >
          {snapshot.hasOlder && (
            <li className="older">
              <button type="button" className="link" onClick={() => attempt(() => chat.loadOlder())}>
                Load older messages
              </button>
            </li>
          )}
          {snapshot.messages.length === 0 && snapshot.pending.length === 0 && (
            <li className="empty muted">No messages yet. Say hello!</li>
          )}
          {snapshot.messages.map((m) => {
            const mine = m.from.sub === snapshot.mySub;
            return (
              <li key={m.seq} className={`message${mine ? ' mine' : ''}`} data-seq={m.seq}>
                <div className="meta">
                  <strong>{mine ? 'You' : m.from.displayName}</strong>
                  <Privacy message={m} mySub={snapshot.mySub} />
                  <time dateTime={m.sentAt}>{time(m.sentAt)}</time>
                  {m.editedAt && !m.deleted && <span className="muted">(edited)</span>}
                </div>
                {m.deleted ? (
                  <p className="body deleted">Message deleted</p>
                ) : editing?.seq === m.seq ? (
                  <form
                    className="edit"
                    onSubmit={(e) => {
                      e.preventDefault();
                      const body = editing.body.trim();
                      setEditing(undefined);
                      if (body && body !== m.body) {
                        attempt(() => chat.edit(m.seq, body));
                      }
                    }}
                  >
                    <textarea
                      aria-label="Edit message"
                      value={editing.body}
                      maxLength={CHAT_MAX_CHARS}
                      autoFocus
                      onChange={(e) => setEditing({ seq: m.seq, body: e.target.value })}
                      onKeyDown={(e) => e.key === 'Escape' && setEditing(undefined)}
                    />
                    <button type="submit">Save</button>
                    <button type="button" className="secondary" onClick={() => setEditing(undefined)}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <p className="body">{linkify(m.body)}</p>
                )}
                {mine && !m.deleted && editing?.seq !== m.seq && (
                  <span className="msg-actions">
                    <button
                      type="button"
                      className="icon"
                      aria-label="Edit message"
                      title="Edit"
                      onClick={() => setEditing({ seq: m.seq, body: m.body })}
                    >
                      <Pencil size={14} aria-hidden />
                    </button>
                    <button
                      type="button"
                      className="icon danger"
                      aria-label="Delete message"
                      title="Delete"
                      onClick={() => attempt(() => chat.delete(m.seq))}
                    >
                      <Trash2 size={14} aria-hidden />
                    </button>
                  </span>
                )}
              </li>
            );
          })}
          {snapshot.pending.map((p) => (
            <li key={p.clientId} className="message mine pending" data-state={p.state}>
              <div className="meta">
                <strong>You</strong>
                {p.to && (
                  <span className="private">
                    <Lock size={12} aria-hidden /> private to {p.to.displayName}
                  </span>
                )}
                <span className={p.state === 'failed' ? 'error' : 'muted'}>{pendingLabel(p)}</span>
              </div>
              <p className="body">{linkify(p.body)}</p>
              {p.state === 'failed' && (
                <span className="msg-actions visible">
                  <button
                    type="button"
                    className="icon"
                    aria-label="Retry sending"
                    onClick={() => attempt(() => chat.retry(p.clientId))}
                  >
                    <RotateCw size={14} aria-hidden />
                  </button>
                  <button
                    type="button"
                    className="icon danger"
                    aria-label="Discard message"
                    onClick={() => attempt(() => chat.discard(p.clientId))}
                  >
                    <Trash2 size={14} aria-hidden />
                  </button>
                </span>
              )}
            </li>
          ))}
        </ol>
      )}
      <p className="typing muted" aria-live="polite">
        {snapshot.typing.length > 0 &&
          `${snapshot.typing.map((t) => t.displayName).join(', ')} ${snapshot.typing.length > 1 ? 'are' : 'is'} typing…`}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <form className="composer" onSubmit={send}>
        <select aria-label="Send to" value={to} onChange={(e) => setTo(e.target.value)}>
          <option value="">Everyone</option>
          {participants.map((p) => (
            <option key={p.peerId} value={p.peerId}>
              {p.displayName} (private)
            </option>
          ))}
        </select>
        <div className="composer-row">
          <textarea
            aria-label="Message"
            placeholder={recipient ? `Private message to ${recipient.displayName}` : 'Message everyone'}
            value={draft}
            maxLength={CHAT_MAX_CHARS}
            rows={2}
            onChange={(e) => {
              setDraft(e.target.value);
              if (e.target.value) {
                chat.typing(recipient?.peerId);
              }
            }}
            onKeyDown={onKey}
          />
          <button type="submit" className="icon send" aria-label="Send message" disabled={!draft.trim()}>
            <Send size={18} aria-hidden />
          </button>
        </div>
      </form>
    </aside>
  );
}
