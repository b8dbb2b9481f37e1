/**
 * The few error classes every service uses, and the one the browser sees too. Each carries a
 * gRPC status code; edges turn them into a gRPC status (media, `./grpc`), an HTTP status (gateway)
 * or a socket ack error (signaling), and the browser's signaling connection turns an ack error
 * back into one. Clients get the message and code, never a stack trace. No Node or grpc-js import
 * here: the UI bundles this module.
 */
import { z } from 'zod';

export type ErrorCode =
  | 'CANCELLED'
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
  CANCELLED: 499,
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

/** The standard gRPC status numbers (grpc/grpc `doc/statuscodes.md`), so no grpc-js is needed. */
export const GRPC_STATUS: Record<ErrorCode, number> = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

const ERROR_CODES = new Set(Object.keys(HTTP_STATUS));

/** A code from outside (an ack, a socket error's data) as ours; anything else is INTERNAL. */
export function toErrorCode(code: unknown): ErrorCode {
  return typeof code === 'string' && ERROR_CODES.has(code) ? (code as ErrorCode) : 'INTERNAL';
}

export interface AppErrorOptions {
  cause?: unknown;
  retryAfterSeconds?: number;
  /** The request's correlation id, when the error answers one (logged on every hop). */
  correlationId?: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  /** For RESOURCE_EXHAUSTED: when trying again may succeed (HTTP Retry-After). */
  readonly retryAfterSeconds?: number;
  readonly correlationId?: string;

  constructor(code: ErrorCode, message: string, options?: AppErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.correlationId = options?.correlationId;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  get grpcStatus(): number {
    return GRPC_STATUS[this.code];
  }

  /** The shape a client sees (HTTP body, socket ack). */
  toJSON(): { code: ErrorCode; message: string; retryAfterSeconds?: number } {
    return this.retryAfterSeconds === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterSeconds: this.retryAfterSeconds };
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
  (Object.keys(GRPC_STATUS) as ErrorCode[]).map((name) => [GRPC_STATUS[name], name]),
);

/** grpc-js's ServiceError as far as we read it (a status number, its details, metadata). */
interface GrpcServiceErrorLike extends Error {
  code: number;
  details?: string;
  metadata: unknown;
}

function isGrpcServiceError(error: unknown): error is GrpcServiceErrorLike {
  return (
    error instanceof Error && typeof (error as { code?: unknown }).code === 'number' && 'metadata' in error
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
