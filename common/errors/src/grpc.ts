/** The gRPC edge of `AppError` (servers only: it needs grpc-js, which the browser does not bundle). */
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import type { AppError } from './index';

/** A gRPC ServiceError for a server handler's callback or a stream's `error` event. */
export function toGrpcError(error: AppError): Partial<ServiceError> {
  return { code: error.grpcStatus, details: error.message, metadata: new Metadata() };
}
