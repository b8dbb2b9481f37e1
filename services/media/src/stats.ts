/**
 * mediasoup's statistics of a peer (Room.peerStats) as the GetPeerStats response: the numbers a
 * quality indicator and a stats panel need, named the same on both sides of the gRPC API.
 */
import type { types } from 'mediasoup';
import { mediaKindToProto, type GetPeerStatsResponse, type RtpStreamStats } from '@switchboard/proto';
import type { PeerStats } from './Room';

/** mediasoup reports the RTCP fraction lost as 0..255 (RFC 3550 §6.4.1). */
const FRACTION_LOST_SCALE = 256;

function streamToProto(stat: types.ProducerStat | types.ConsumerStat): RtpStreamStats {
  return {
    ssrc: stat.ssrc,
    rid: stat.rid,
    packetCount: stat.packetCount,
    byteCount: stat.byteCount,
    bitrate: Math.round(stat.bitrate),
    packetsLost: stat.packetsLost,
    fractionLost: stat.fractionLost / FRACTION_LOST_SCALE,
    jitter: 'jitter' in stat ? stat.jitter : 0,
    roundTripTime: stat.roundTripTime,
    score: stat.score,
  };
}

export function peerStatsToProto(stats: PeerStats): GetPeerStatsResponse {
  return {
    transports: stats.transports.map((t) => ({
      transportId: t.transportId,
      producing: t.producing,
      iceState: t.iceState,
      dtlsState: t.dtlsState,
      bytesReceived: t.bytesReceived,
      bytesSent: t.bytesSent,
      recvBitrate: Math.round(t.recvBitrate),
      sendBitrate: Math.round(t.sendBitrate),
      availableOutgoingBitrate: Math.round(t.availableOutgoingBitrate ?? 0),
      remoteIp: t.iceSelectedTuple?.remoteIp,
      remotePort: t.iceSelectedTuple?.remotePort,
      protocol: t.iceSelectedTuple?.protocol,
    })),
    producers: stats.producers.map(({ producer, streams }) => ({
      producerId: producer.id,
      kind: mediaKindToProto(producer.kind),
      paused: producer.paused,
      type: producer.type,
      streams: streams.map(streamToProto),
    })),
    consumers: stats.consumers.map(({ consumer, producerPeerId, stream }) => ({
      consumerId: consumer.id,
      producerId: consumer.producerId,
      producerPeerId,
      kind: mediaKindToProto(consumer.kind),
      paused: consumer.paused,
      producerPaused: consumer.producerPaused,
      score: consumer.score.score,
      producerScore: consumer.score.producerScore,
      currentSpatialLayer: consumer.currentLayers?.spatialLayer,
      currentTemporalLayer: consumer.currentLayers?.temporalLayer,
      preferredSpatialLayer: consumer.preferredLayers?.spatialLayer,
      stream: stream ? streamToProto(stream) : undefined,
    })),
  };
}
