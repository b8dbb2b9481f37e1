/**
 * Events from a room's media nodes (their WatchRoomEvents streams), relayed to the peers this
 * instance holds: each instance acts only on its own peers, so several never double-deliver.
 * Room-wide events (audio levels, active speaker) are taken from the room's home node only (it
 * has every audio producer of the room, piped in from the others).
 */
import type { Logger } from '@switchboard/logger';
import type { WatchRoomEventsResponse } from '@switchboard/proto';
import type { SignalingIo } from './peer';
import type { Attributes } from './Attributes';
import type { MediaClient } from './MediaClient';
import type { Producers } from './Producers';
import type { RoomSession } from './RoomSessions';

export function relayRoomEvent(
  session: RoomSession,
  response: WatchRoomEventsResponse,
  node: MediaClient,
  deps: { io: SignalingIo; logger: Logger; attributes: Attributes; producers: Producers },
): void {
  const event = response.event;
  if (!event) {
    return;
  }
  // Room-wide: to this instance's sockets in the room (every instance relays to its own).
  if ((event.$case === 'activeSpeaker' || event.$case === 'audioLevels') && node !== session.home) {
    return;
  }
  if (event.$case === 'activeSpeaker') {
    session.activeSpeaker = event.value.peerId;
    deps.io.local.to(session.roomId).emit('activeSpeaker', { peerId: event.value.peerId });
    return;
  }
  if (event.$case === 'audioLevels') {
    const levels = event.value.levels.map(({ peerId, volume }) => ({ peerId, volume }));
    deps.io.local.to(session.roomId).emit('audioLevels', { levels });
    deps.attributes.onAudioLevels(session.roomId, levels);
    return;
  }
  const socket = session.peers.get(event.value.peerId);
  const logger = (): Logger => deps.logger.child({ roomId: session.roomId, peerId: event.value.peerId });
  if (event.$case === 'producerClosed') {
    // Closed on its own node (its transport went): its copies go, and its owner's instance says so.
    const { producerId, reason } = event.value;
    const log = logger();
    if (socket) {
      log.info({ producerId, reason }, 'producer closed by media node');
    }
    void deps.producers.closedByNode(
      session.roomId,
      producerId,
      node,
      socket,
      { correlationId: `producer-closed-${producerId}` },
      log,
    );
    return;
  }
  if (!socket) {
    return;
  }
  const peer = socket.data.peer;
  switch (event.$case) {
    case 'consumerClosed':
      if (peer.consumers.delete(event.value.consumerId)) {
        socket.emit('consumerClosed', {
          consumerId: event.value.consumerId,
          producerId: event.value.producerId,
        });
      }
      break;
    case 'transportClosed':
      if (peer.transports.delete(event.value.transportId)) {
        logger().warn(
          { transportId: event.value.transportId, reason: event.value.reason },
          'transport closed by media node',
        );
      }
      break;
    case 'producerPaused':
      // A host's mute (on any instance) pauses it on the media node: kept for re-registration.
      deps.producers.pausedByNode(socket, event.value.producerId, event.value.paused);
      break;
  }
}
