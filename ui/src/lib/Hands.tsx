'use client';

/**
 * Raise hand: the control, the badge on a tile (its place in line), and the list of raised hands
 * in the people panel (hosts lower them). The order is the server's (the time each was raised).
 */
import { Hand } from 'lucide-react';

/** The control bar's Raise hand / Lower hand button. */
export function RaiseHandButton({ raised, onToggle }: { raised: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      className="secondary"
      title={raised ? 'Lower hand' : 'Raise hand'}
      aria-pressed={raised}
      onClick={onToggle}
    >
      <Hand size={18} aria-hidden /> <span className="label">{raised ? 'Lower hand' : 'Raise hand'}</span>
    </button>
  );
}

/** On a tile: the hand and its place in line (1 = raised first). */
export function HandBadge({ name, position }: { name: string; position: number }) {
  return (
    <span
      className="hand-badge"
      role="img"
      aria-label={`${name} raised a hand (${ordinal(position)} in line)`}
    >
      <Hand size={14} aria-hidden /> {position}
    </span>
  );
}

/** The people panel's list of raised hands, first raised first; hosts may lower each. */
export function HandsList({
  hands,
  names,
  selfPeerId,
  canLower,
  onLower,
}: {
  hands: string[];
  names: Map<string, string>;
  selfPeerId?: string;
  canLower: boolean;
  onLower: (peerId: string) => void;
}) {
  if (hands.length === 0) {
    return null;
  }
  return (
    <section className="hands" aria-label="Raised hands">
      <h3>
        <Hand size={16} aria-hidden /> Raised hands ({hands.length})
      </h3>
      <ol>
        {hands.map((peerId) => {
          const name = peerId === selfPeerId ? 'You' : (names.get(peerId) ?? 'Someone');
          return (
            <li key={peerId}>
              <span>{name}</span>
              {canLower && peerId !== selfPeerId && (
                <button
                  type="button"
                  className="icon secondary"
                  aria-label={`Lower ${name}'s hand`}
                  title={`Lower ${name}'s hand`}
                  onClick={() => onLower(peerId)}
                >
                  <Hand size={14} aria-hidden />
                </button>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th');
  return `${n}${suffix}`;
}
