/** A transport the media node made, as a browser's mediasoup-client takes it. */
import { AppError } from '@switchboard/errors';
import {
  iceCandidateFromProto,
  iceParametersFromProto,
  type CreateWebRtcTransportResponse,
} from '@switchboard/proto';
import type { TransportInfo } from '@switchboard/protocol';

/** Its ICE, DTLS and (made with `sctp`) SCTP parameters; INTERNAL when the node left one out. */
export function transportInfo(created: CreateWebRtcTransportResponse): TransportInfo {
  const { iceParameters, dtlsParameters, sctpParameters } = created;
  if (!iceParameters || !dtlsParameters) {
    throw new AppError('INTERNAL', 'media node returned an incomplete transport');
  }
  return {
    id: created.transportId,
    iceParameters: iceParametersFromProto(iceParameters),
    iceCandidates: created.iceCandidates.map(iceCandidateFromProto),
    dtlsParameters: {
      role: dtlsParameters.role as 'auto' | 'client' | 'server',
      fingerprints: dtlsParameters.fingerprints,
    },
    ...(sctpParameters && {
      sctpParameters: {
        port: sctpParameters.port,
        OS: sctpParameters.os,
        MIS: sctpParameters.mis,
        maxMessageSize: sctpParameters.maxMessageSize,
      },
    }),
  };
}
