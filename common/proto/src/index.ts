export * from './gen/switchboard/media/v1/media';
export * from './convert';
export * from './answers';

/** The gRPC metadata key carrying the correlation id from browser to SFU. */
export const CORRELATION_ID_METADATA = 'x-correlation-id';
/** The gRPC metadata key naming the peer a call acts for (for the media node's logs). */
export const PEER_ID_METADATA = 'x-peer-id';
/** Fully-qualified gRPC service name, as used by grpc.health.v1 and Consul checks. */
export const MEDIA_SERVICE_NAME = 'switchboard.media.v1.MediaService';
