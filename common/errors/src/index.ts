/**
 * The few error classes every service uses. Each carries a gRPC status code; edges turn them into
 * a gRPC status (media), an HTTP status (gateway) or a socket ack error (signaling). Clients get
 * the message and code, never a stack trace.
 */
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { z } from 'zod';

export { GrpcStatus };

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  /** For RESOURCE_EXHAUSTED: when trying again may succeed (HTTP Retry-After). */
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  get grpcStatus(): GrpcStatus {
    return GrpcStatus[this.code];
  }

  /** The shape a client sees (HTTP body, socket ack). */
  toJSON(): { code: ErrorCode; message: string; retryAfterSeconds?: number } {
    return this.retryAfterSeconds === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterSeconds: this.retryAfterSeconds };
  }

  /** A gRPC ServiceError for a server handler's callback. */
  toGrpc(): Partial<ServiceError> {
    return { code: this.grpcStatus, details: this.message, metadata: new Metadata() };
  }
}

export class InvalidArgumentError extends AppError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class UnavailableError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message: string) {
    super('UNAUTHENTICATED', message);
  }
}

export class PermissionDeniedError extends AppError {
  constructor(message: string) {
    super('PERMISSION_DENIED', message);
  }
}

/** Too many requests: the message says what, `retryAfterSeconds` when to try again. */
export class RateLimitedError extends AppError {
  /** Not the first refusal of its window: a flood, which logs say once, not once per request. */
  readonly repeated: boolean;

  constructor(message: string, retryAfterSeconds: number, options: { repeated?: boolean } = {}) {
    super('RESOURCE_EXHAUSTED', message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
    this.repeated = options.repeated ?? false;
  }
}

/** Describes a zod validation failure as one readable sentence: "name: Required; kind: ...". */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses input with a schema, throwing InvalidArgumentError with a readable message. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what = 'request'): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new InvalidArgumentError(`invalid ${what}: ${describeZodError(result.error)}`);
  }
  return result.data;
}

const GRPC_CODE_NAMES = new Map<number, ErrorCode>(
  (Object.keys(HTTP_STATUS) as ErrorCode[]).map((name) => [GrpcStatus[name], name]),
);

function isGrpcServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && 'metadata' in error
  );
}

/**
 * Normalises anything thrown into an AppError. gRPC client errors keep their status; zod errors
 * become INVALID_ARGUMENT; everything else becomes INTERNAL with a generic message (the original
 * stays as `cause` for the logs).
 */
export function fromUnknown(error: unknown): AppError {
  if (error instanceof AppError) {
    return error;
  }
  if (error instanceof z.ZodError) {
    return new InvalidArgumentError(`invalid request: ${describeZodError(error)}`);
  }
  if (isGrpcServiceError(error)) {
    const code = GRPC_CODE_NAMES.get(error.code) ?? 'INTERNAL';
    return new AppError(code, error.details || error.message, { cause: error });
  }
  return new AppError('INTERNAL', 'internal error', { cause: error });
}
