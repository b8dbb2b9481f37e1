'use client';

/**
 * Reactions: the control bar's menu of emoji, and the emoji floating over a sender's tile for
 * everyone (a few seconds each; nothing is kept). Keyboard: the menu opens with Enter or Space,
 * its buttons are tabbable, Escape closes it.
 */
import { SmilePlus } from 'lucide-react';
import { REACTIONS, type Reaction } from '@switchboard/protocol';
import type { ShownReaction } from './CallClient';
import { MenuButton } from './MenuButton';

export function ReactionsMenu({ onReact }: { onReact: (emoji: Reaction) => void }) {
  return (
    <MenuButton
      icon={<SmilePlus size={18} aria-hidden />}
      label="Reactions"
      menuLabel="Send a reaction"
      className="reactions-control"
      menuClassName="reactions-menu"
    >
      {(close) =>
        (Object.entries(REACTIONS) as [Reaction, string][]).map(([emoji, name]) => (
          <button
            key={emoji}
            type="button"
            className="icon secondary"
            aria-label={`React with ${name}`}
            title={name}
            onClick={() => {
              onReact(emoji);
              close();
            }}
          >
            {emoji}
          </button>
        ))
      }
    </MenuButton>
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
