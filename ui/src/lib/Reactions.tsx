'use client';

/**
 * Reactions: the control bar's menu of emoji, and the emoji floating over a sender's tile for
 * everyone (a few seconds each; nothing is kept). Keyboard: the menu opens with Enter or Space,
 * its buttons are tabbable, Escape closes it.
 */
import { SmilePlus } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { REACTIONS, type Reaction } from '@switchboard/protocol';
import type { ShownReaction } from './CallClient';

export function ReactionsMenu({ onReact }: { onReact: (emoji: Reaction) => void }) {
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) {
      return;
    }
    menu.current?.querySelector('button')?.focus();
    const close = (event: KeyboardEvent) => event.key === 'Escape' && setOpen(false);
    document.addEventListener('keydown', close);
    return () => document.removeEventListener('keydown', close);
  }, [open]);
  return (
    <span className="reactions-control">
      <button
        type="button"
        className="secondary"
        aria-haspopup="true"
        aria-expanded={open}
        title="Reactions"
        onClick={() => setOpen((v) => !v)}
      >
        <SmilePlus size={18} aria-hidden /> <span className="label">Reactions</span>
      </button>
      {open && (
        <div className="reactions-menu" role="group" aria-label="Send a reaction" ref={menu}>
          {(Object.entries(REACTIONS) as [Reaction, string][]).map(([emoji, name]) => (
            <button
              key={emoji}
              type="button"
              className="icon secondary"
              aria-label={`React with ${name}`}
              title={name}
              onClick={() => {
                onReact(emoji);
                setOpen(false);
              }}
            >
              {emoji}
            </button>
          ))}
        </div>
      )}
    </span>
  );
}

/** The reactions floating over one participant's tile. */
export function FloatingReactions({ reactions, name }: { reactions: ShownReaction[]; name: string }) {
  if (reactions.length === 0) {
    return null;
  }
  return (
    <span className="floating-reactions" aria-live="polite">
      {reactions.map((r, i) => (
        <span
          key={r.id}
          className="reaction"
          role="img"
          aria-label={`${name} reacted with ${REACTIONS[r.emoji]}`}
          style={{ left: `${15 + ((r.id * 37 + i * 11) % 60)}%` }}
        >
          {r.emoji}
        </span>
      ))}
    </span>
  );
}
