'use client';

import { Mic, MicOff, UserX, Users, Video, VideoOff } from 'lucide-react';
import { ConfirmButton } from './ConfirmButton';
import { serverApi, type Participant, type Room } from './serverApi';

function Tracks({ participant }: { participant: Participant }) {
  const audio = participant.tracks.find((t) => t.kind === 'audio');
  const video = participant.tracks.find((t) => t.kind === 'video' && t.source !== 'screen');
  return (
    <span className="tracks">
      {audio && !audio.muted ? (
        <Mic size={14} aria-label="mic on" />
      ) : (
        <MicOff size={14} aria-label="mic off" />
      )}
      {video && !video.muted ? (
        <Video size={14} aria-label="camera on" />
      ) : (
        <VideoOff size={14} aria-label="camera off" />
      )}
    </span>
  );
}

/** A live room: its media nodes and participants, with End and Remove. */
export function RoomCard(props: { room: Room; participants: Participant[]; onChange: () => void }) {
  const { room, participants, onChange } = props;
  return (
    <article className="card" aria-label={`Room ${room.name}`}>
      <div className="row">
        <Users size={18} aria-hidden />
        <h3>
          <a href={room.path}>{room.name}</a>
        </h3>
        <span className="badge">{room.participantCount} in call</span>
        <span className="muted">on {room.mediaNodes.join(', ') || 'no node'}</span>
        <span className="spacer" />
        <a className="button secondary" href={`/calls?room=${encodeURIComponent(room.id)}`}>
          Calls
        </a>
        <ConfirmButton
          className="danger"
          label="End"
          ariaLabel={`End ${room.name}`}
          title={`End “${room.name}” for everyone?`}
          confirm="End meeting"
          onConfirm={async () => {
            await serverApi.endRoom(room.id);
            onChange();
          }}
        >
          <p>Everyone in it is told and disconnected, and the meeting and its chat are deleted.</p>
        </ConfirmButton>
      </div>
      {participants.length === 0 ? (
        <p className="muted">Nobody is in the call right now.</p>
      ) : (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Media</th>
              <th scope="col">Presence</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {participants.map((p) => (
              <tr key={p.id}>
                <td>{p.displayName}</td>
                <td>{p.role}</td>
                <td>
                  <Tracks participant={p} />
                </td>
                <td>{p.presence}</td>
                <td>
                  <ConfirmButton
                    className="icon danger"
                    label={<UserX size={16} aria-hidden />}
                    ariaLabel={`Remove ${p.displayName}`}
                    title={`Remove ${p.displayName}?`}
                    confirm="Remove"
                    onConfirm={async () => {
                      await serverApi.remove(room.id, p.id);
                      onChange();
                    }}
                  >
                    <p>They are told and disconnected, and cannot come back with the same link or account.</p>
                  </ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </article>
  );
}
