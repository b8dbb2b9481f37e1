'use client';

import { CircleAlert, Server } from 'lucide-react';
import { useState } from 'react';
import { ConfirmButton } from './ConfirmButton';
import { serverApi, type MediaNode } from './serverApi';

function Meter({ label, value, max }: { label: string; value: number; max: number }) {
  const share = max > 0 ? Math.min(1, value / max) : 0;
  return (
    <div className="meter">
      <span>{label}</span>
      <progress value={share} max={1} aria-label={label} />
      <span className="muted">{label === 'CPU' ? `${Math.round(value * 100)}%` : `${value} / ${max}`}</span>
    </div>
  );
}

/** A media node: its state, its load (consumers against capacity, CPU) and Drain. */
export function NodeCard({ node, onChange }: { node: MediaNode; onChange: () => void }) {
  const [deadline, setDeadline] = useState(30);
  const state = node.draining
    ? { text: 'Draining', tone: 'warn' }
    : !node.answered
      ? { text: 'Not answering', tone: 'bad' }
      : node.accepting
        ? { text: 'Accepting', tone: 'good' }
        : { text: 'Full', tone: 'warn' };
  return (
    <article className="card node" aria-label={`Media node ${node.id}`}>
      <div className="row">
        <Server size={18} aria-hidden />
        <h3>{node.id}</h3>
        <span className={`badge ${state.tone}`}>{state.text}</span>
      </div>
      <p className="muted">
        {node.address} · {node.workers} worker{node.workers === 1 ? '' : 's'} · {node.rooms} room
        {node.rooms === 1 ? '' : 's'} · {node.transports} transports · {node.producers} producers
      </p>
      <Meter label="Consumers" value={node.consumers} max={node.maxConsumers} />
      <Meter label="CPU" value={node.cpu} max={1} />
      {!node.answered && (
        <p className="muted">
          <CircleAlert size={14} aria-hidden /> It did not answer just now: these are the numbers it last
          published in Consul.
        </p>
      )}
      {!node.draining && (
        <div className="row">
          <span className="spacer" />
          <ConfirmButton
            label="Drain"
            ariaLabel={`Drain ${node.id}`}
            title={`Drain ${node.id}?`}
            confirm="Drain"
            onConfirm={async () => {
              await serverApi.drain(node.id, deadline);
              onChange();
            }}
          >
            <p>
              It takes no new rooms from now on. Its {node.rooms} room{node.rooms === 1 ? '' : 's'} go on
              until the deadline, then move to another node (people rejoin by themselves, in a second or two).
              Once empty, it leaves Consul.
            </p>
            <label>
              Calls move after (seconds)
              <input
                type="number"
                min={1}
                max={3600}
                value={deadline}
                onChange={(e) => setDeadline(Number(e.target.value))}
              />
            </label>
          </ConfirmButton>
        </div>
      )}
    </article>
  );
}
