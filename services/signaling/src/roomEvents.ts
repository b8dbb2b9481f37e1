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
import type { Presence } from './Presence';
import type { RoomSession } from './RoomSessions';

export function relayRoomEvent(
  session: RoomSession,
  response: WatchRoomEventsResponse,
  fromHome: boolean,
  deps: { io: SignalingIo; presence: Presence; logger: Logger; attributes: Attributes },
): void {
  const event = response.event;
  if (!event) {
    return;
  }
  // Room-wide: to this instance's sockets in the room (every instance relays to its own).
  if ((event.$case === 'activeSpeaker' || event.$case === 'audioLevels') && !fromHome) {
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
  if (!socket) {
    return;
  }
  const peer = socket.data.peer;
  const logger = deps.logger.child({ roomId: session.roomId, peerId: peer.peerId });
  switch (event.$case) {
    case 'producerClosed':
      if (peer.producers.delete(event.value.producerId)) {
        peer.producerInfo.delete(event.value.producerId);
        logger.info(
          { producerId: event.value.producerId, reason: event.value.reason },
          'producer closed by media node',
        );
        deps.presence
          .removeProducer(session.roomId, event.value.producerId)
          .catch((error: unknown) =>
            logger.warn({ err: error }, 'could not remove the producer from presence'),
          );
        deps.io
          .to(session.roomId)
          .emit('producerClosed', { producerId: event.value.producerId, peerId: peer.peerId });
      }
      break;
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
        logger.warn(
          { transportId: event.value.transportId, reason: event.value.reason },
          'transport closed by media node',
        );
      }
      break;
    case 'producerPaused': {
      // A host's mute (on any instance) pauses it on the media node: kept for re-registration.
      const info = peer.producerInfo.get(event.value.producerId);
      if (info) {
        info.paused = event.value.paused;
      }
      break;
    }
  }
}
