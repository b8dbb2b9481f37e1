'use client';

import { ArrowLeft, Ban, Flag, LogOut, MessageSquare, SkipForward, Users } from 'lucide-react';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import {
  MAX_INTERESTS,
  type MatchEndReason,
  type MatchFound,
  type ReportReason,
} from '@switchboard/protocol';
import type { CallClient, CallSnapshot } from '../CallClient';
import { ChatPanel } from '../ChatPanel';
import { newCall, useLocalMedia } from '../hooks';
import { Video } from '../Tile';
import { MatchClient } from './MatchClient';

type Phase =
  | { kind: 'form' }
  | { kind: 'waiting'; since: number }
  | { kind: 'matched'; match: MatchFound; call: CallClient }
  /** Kept out (reports from several people) until then. */
  | { kind: 'excluded'; until: Date; reason: string };

const REASONS: { value: ReportReason; label: string }[] = [
  { value: 'nudity', label: 'Nudity or sexual content' },
  { value: 'harassment', label: 'Harassment or threats' },
  { value: 'hate', label: 'Hate speech' },
  { value: 'spam', label: 'Spam or advertising' },
  { value: 'underage', label: 'Seems under age' },
  { value: 'other', label: 'Something else' },
];

const ENDED: Record<MatchEndReason, string> = {
  left: 'The stranger left.',
  next: 'The stranger moved on.',
  disconnected: 'The stranger’s connection dropped.',
};

function since(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Seconds waited, ticking. */
function Waited({ from }: { from: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return <span>{since(now - from)}</span>;
}

/**
 * "Meet someone": a name, a few interests and the rules; then waiting (camera preview, time
 * waited) until the matchmaker pairs us; then a two-person call through the SFU with a chat beside
 * it, and Next, Report, Block, Leave. When a match ends (either side), we wait for the next one.
 */
export function Meet() {
  const { media, local } = useLocalMedia();
  const [name, setName] = useState('');
  const [interests, setInterests] = useState('');
  const [rules, setRules] = useState(false);
  const [phase, setPhase] = useState<Phase>({ kind: 'form' });
  const [snapshot, setSnapshot] = useState<CallSnapshot>();
  const [error, setError] = useState('');
  /** What just happened (the match ended, a report was sent): shown a while, whatever comes next. */
  const [notice, setNotice] = useState('');
  useEffect(() => {
    if (!notice) {
      return;
    }
    const timer = setTimeout(() => setNotice(''), 8000);
    return () => clearTimeout(timer);
  }, [notice]);
  const [reporting, setReporting] = useState(false);
  const [reason, setReason] = useState<ReportReason>('harassment');
  const [chatOpen, setChatOpen] = useState(true);
  const client = useRef<MatchClient>(undefined);
  const call = useRef<CallClient>(undefined);
  const wish = useRef<{ name: string; interests: string[]; rules: true }>(undefined);
  /** The match we are in (its id), to tell its end from an old one's. */
  const current = useRef<string>(undefined);
  /** Told we are kept out: a refused request then shows that, not its error. */
  const excluded = useRef(false);

  const closeCall = useCallback(() => {
    call.current?.close();
    call.current = undefined;
    setSnapshot(undefined);
  }, []);

  /** Into the queue (again), with what was asked the first time. */
  const enter = useCallback(async (notice?: string) => {
    setNotice(notice ?? '');
    setPhase({ kind: 'waiting', since: Date.now() });
    try {
      await client.current!.request('start', wish.current!);
    } catch (e) {
      if (!excluded.current) {
        setError((e as Error).message);
        setPhase({ kind: 'form' });
      }
    }
  }, []);

  const startCall = useCallback(
    async (match: MatchFound) => {
      current.current = match.matchId;
      if (!media) {
        return;
      }
      closeCall();
      const { client: next, holder } = newCall(
        match.roomId,
        wish.current!.name,
        media.snapshot().stream,
        setSnapshot,
        match.token,
      );
      holder.client = next;
      call.current = next;
      await next.setLocalTrack('audio', media.track('audio'));
      await next.setLocalTrack('video', media.track('video'));
      setPhase({ kind: 'matched', match, call: next });
      setSnapshot(next.snapshot());
      await next.start().catch((e: unknown) => setError((e as Error).message));
    },
    [media, closeCall],
  );

  // The socket's listeners call the current startCall (it changes once the camera is open).
  const onMatched = useRef(startCall);
  onMatched.current = startCall;
  useEffect(() => {
    if (!client.current) {
      client.current = new MatchClient({
        matched: (m) => void onMatched.current(m),
        ended: (matchId, why) => {
          if (matchId !== current.current) {
            return; // one we left ourselves (Next), told after the next one began
          }
          current.current = undefined;
          closeCall();
          void enter(`${ENDED[why]} Looking for someone new…`);
        },
        excluded: (until, reason) => {
          excluded.current = true;
          closeCall();
          setError('');
          setPhase({ kind: 'excluded', until, reason });
        },
        connection: (lost) => setError(lost ? 'Connection lost; reconnecting…' : ''),
      });
    }
  }, [closeCall, enter]);

  useEffect(
    () => () => {
      call.current?.close();
      client.current?.close();
    },
    [],
  );

  const start = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    media?.resume();
    wish.current = {
      name: name.trim(),
      interests: [
        ...new Set(
          interests
            .split(',')
            .map((s) => s.trim().toLowerCase())
            .filter(Boolean),
        ),
      ].slice(0, MAX_INTERESTS),
      rules: true,
    };
    await enter();
  };

  const act = async (what: 'next' | 'leave' | 'block' | 'report') => {
    setError('');
    // Block and Report name the match: they stand even if the other ended it a moment before.
    const matchId = current.current;
    current.current = undefined; // ended by us: its end is not news
    closeCall();
    try {
      if (what === 'next') {
        setPhase({ kind: 'waiting', since: Date.now() });
        await client.current!.request('next', {});
      } else if (what === 'leave') {
        await client.current!.request('leave', {});
        setPhase({ kind: 'form' });
      } else if (what === 'block') {
        await client.current!.request('block', { matchId });
        await enter('Blocked: you will not meet them again. Looking for someone new…');
      } else {
        await client.current!.request('report', { reason, matchId });
        setReporting(false);
        await enter('Reported: thank you, the operators will look at it. Looking for someone new…');
      }
    } catch (e) {
      if (!excluded.current) {
        setError((e as Error).message);
      }
    }
  };

  const partner = snapshot?.participants[0];
  return (
    <main>
      <div className={`center ${phase.kind === 'matched' ? 'meet-call' : ''}`}>
        <div className="row">
          <a className="button secondary" href="/">
            <ArrowLeft size={16} aria-hidden /> Home
          </a>
          <h1>
            <Users size={22} aria-hidden /> Meet someone
          </h1>
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {notice && phase.kind !== 'excluded' && (
          <p className="meet-notice" role="status">
            {notice}
          </p>
        )}
        {phase.kind === 'form' && (
          <form className="card" onSubmit={(e) => void start(e)}>
            <div className="preview-frame">
              {local?.ready ? (
                <Video stream={local.stream} muted label="Your camera preview" className="preview" />
              ) : (
                <div className="preview" />
              )}
            </div>
            <label>
              Your name
              <input value={name} onChange={(e) => setName(e.target.value)} maxLength={40} required />
            </label>
            <label>
              Interests (optional, comma separated)
              <input
                value={interests}
                onChange={(e) => setInterests(e.target.value)}
                placeholder="chess, jazz, hiking"
              />
            </label>
            <label className="check">
              <input type="checkbox" checked={rules} onChange={(e) => setRules(e.target.checked)} required />I
              am 18 or older, and I will be respectful: no nudity, harassment, hate or spam. Reports end
              matches and keep people out.
            </label>
            <button type="submit" disabled={!local?.ready || !name.trim() || !rules}>
              Start
            </button>
          </form>
        )}
        {phase.kind === 'excluded' && (
          <div className="card" role="alert">
            <h2>
              <Ban size={18} aria-hidden /> You are kept out of Meet someone for now
            </h2>
            <p>
              {phase.reason.charAt(0).toUpperCase() + phase.reason.slice(1)}, so you cannot meet anyone until{' '}
              <strong>{phase.until.toLocaleString()}</strong>.
            </p>
            <p className="muted">
              If you think this is a mistake, ask the operators of this site: they can lift it.
            </p>
            <div className="row">
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  excluded.current = false;
                  setPhase({ kind: 'form' });
                }}
              >
                <ArrowLeft size={16} aria-hidden /> Back
              </button>
            </div>
          </div>
        )}
        {phase.kind === 'waiting' && (
          <div className="card" aria-live="polite">
            {local?.ready && (
              <Video stream={local.stream} muted label="Your camera preview" className="preview" />
            )}
            <p role="status">
              Looking for someone… <Waited from={phase.since} />
            </p>
            <div className="row">
              <button type="button" className="secondary" onClick={() => void act('leave')}>
                <LogOut size={16} aria-hidden /> Leave
              </button>
            </div>
          </div>
        )}
        {phase.kind === 'matched' && (
          <div className="meet-grid">
            <section className="meet-stage" aria-label="The call">
              {partner ? (
                <Video stream={partner.stream} muted={false} label="Stranger" className="meet-stranger" />
              ) : (
                <div className="meet-stranger" role="status">
                  Connecting to the stranger…
                </div>
              )}
              {local?.ready && <Video stream={local.stream} muted label="You" className="meet-self" />}
              <p className="muted">
                You are talking with <strong>{phase.match.partner.name}</strong>
                {phase.match.shared.length > 0 ? ` · you both like ${phase.match.shared.join(', ')}` : ''}
              </p>
              <div className="row">
                <button type="button" onClick={() => void act('next')}>
                  <SkipForward size={16} aria-hidden /> Next
                </button>
                <button type="button" className="secondary" onClick={() => setReporting(true)}>
                  <Flag size={16} aria-hidden /> Report
                </button>
                <button type="button" className="danger" onClick={() => void act('block')}>
                  <Ban size={16} aria-hidden /> Block
                </button>
                <button type="button" className="secondary" onClick={() => void act('leave')}>
                  <LogOut size={16} aria-hidden /> Leave
                </button>
                {!chatOpen && (
                  <button type="button" className="secondary" onClick={() => setChatOpen(true)}>
                    <MessageSquare size={16} aria-hidden /> Chat
                  </button>
                )}
              </div>
              {reporting && (
                <form
                  className="card"
                  aria-label="Report"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void act('report');
                  }}
                >
                  <label>
                    What happened?
                    <select value={reason} onChange={(e) => setReason(e.target.value as ReportReason)}>
                      {REASONS.map((r) => (
                        <option key={r.value} value={r.value}>
                          {r.label}
                        </option>
                      ))}
                    </select>
                  </label>
                  <div className="row">
                    <button type="button" className="secondary" onClick={() => setReporting(false)}>
                      Cancel
                    </button>
                    <button type="submit" className="danger">
                      Send report
                    </button>
                  </div>
                </form>
              )}
            </section>
            {snapshot && chatOpen && (
              <ChatPanel
                chat={phase.call.chat}
                snapshot={snapshot.chat}
                participants={snapshot.participants}
                onClose={() => setChatOpen(false)}
              />
            )}
          </div>
        )}
      </div>
    </main>
  );
}
