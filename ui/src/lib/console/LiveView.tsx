'use client';

import { RefreshCw } from 'lucide-react';
import { NodeCard } from './NodeCard';
import { RoomCard } from './RoomCard';
import { useLive } from './useLive';

/** The deployment now: media nodes with their load, live rooms with their people (every 2 s). */
export function LiveView() {
  const { live, error, refresh } = useLive();
  if (!live) {
    return error ? (
      <p className="error" role="alert">
        {error}
      </p>
    ) : (
      <p role="status">Loading…</p>
    );
  }
  return (
    <>
      <div className="row">
        <span className="live-dot" aria-hidden />
        <span className="muted" role="status" aria-live="off">
          Live · updated {new Date(live.at).toLocaleTimeString()}
        </span>
        {error && (
          <span className="error" role="alert">
            Last update failed: {error}
          </span>
        )}
        <span className="spacer" />
        <button type="button" className="secondary" onClick={refresh}>
          <RefreshCw size={16} aria-hidden /> Refresh
        </button>
      </div>
      <section aria-labelledby="nodes-heading" className="console-section">
        <h2 id="nodes-heading">Media nodes ({live.nodes.length})</h2>
        {live.nodes.length === 0 ? (
          <div className="card">
            <p>No healthy media node is registered in Consul: nobody can start a call.</p>
          </div>
        ) : (
          <div className="grid">
            {live.nodes.map((node) => (
              <NodeCard key={node.id} node={node} onChange={refresh} />
            ))}
          </div>
        )}
      </section>
      <section aria-labelledby="rooms-heading" className="console-section">
        <h2 id="rooms-heading">Live rooms ({live.rooms.length})</h2>
        {live.rooms.length === 0 ? (
          <div className="card">
            <p className="muted">No call is in progress. Rooms show here while people are in them.</p>
          </div>
        ) : (
          live.rooms.map((room) => (
            <RoomCard
              key={room.id}
              room={room}
              participants={live.participants[room.id] ?? []}
              onChange={refresh}
            />
          ))
        )}
      </section>
    </>
  );
}
