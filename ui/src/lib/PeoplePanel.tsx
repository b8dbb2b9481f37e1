'use client';

/** The people panel: raised hands first, then everyone, with a host's controls for each. */
import type { CallClient, CallSnapshot, RemoteParticipant } from './CallClient';
import { HandsList } from './Hands';
import { HostMenu } from './HostMenu';

const PRESENCE_LABELS: Record<RemoteParticipant['presence'], string> = {
  active: '',
  away: 'away',
  reconnecting: 'reconnecting…',
};

export function PeoplePanel({
  call,
  snapshot,
  self,
  act,
}: {
  call: CallClient;
  snapshot: CallSnapshot;
  self: string;
  act: (action: () => Promise<void>) => void;
}) {
  const isHost = snapshot.role === 'host';
  return (
    <aside className="people" aria-label="Participants">
      <h2>People ({snapshot.participants.length + 1})</h2>
      <HandsList
        hands={snapshot.hands}
        names={new Map(snapshot.participants.map((p) => [p.peerId, p.displayName]))}
        selfPeerId={snapshot.selfPeerId}
        canLower={isHost}
        onLower={(peerId) => act(() => call.setAttributes({ hand: null }, peerId))}
      />
      <ul>
        <li>
          {self} (you){isHost ? ' · host' : ''}
        </li>
        {snapshot.participants.map((p) => (
          <li key={p.peerId}>
            <span>
              {p.displayName}
              {p.role === 'host' ? ' · host' : p.role === 'guest' ? ' · guest' : ''}
              {PRESENCE_LABELS[p.presence] && (
                <span className="presence"> · {PRESENCE_LABELS[p.presence]}</span>
              )}
            </span>
            {isHost && p.presence !== 'reconnecting' && (
              <HostMenu call={call} participant={p} full act={act} />
            )}
          </li>
        ))}
      </ul>
    </aside>
  );
}
