import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError, fromUnknown, InvalidArgumentError, parseOrThrow, toErrorCode } from './index';
import { toGrpcError } from './grpc';

describe('errors', () => {
  it('maps codes to HTTP and gRPC statuses', () => {
    const error = new InvalidArgumentError('name: required');
    expect(error.httpStatus).toBe(400);
    expect(error.grpcStatus).toBe(status.INVALID_ARGUMENT);
    expect(error.toJSON()).toEqual({ code: 'INVALID_ARGUMENT', message: 'name: required' });
    expect(new AppError('UNAVAILABLE', 'x').httpStatus).toBe(503);
    expect(toGrpcError(new AppError('CANCELLED', 'gone')).code).toBe(status.CANCELLED);
  });

  it('has the standard gRPC number for every code', () => {
    for (const code of [
      'CANCELLED',
      'NOT_FOUND',
      'RESOURCE_EXHAUSTED',
      'UNAVAILABLE',
      'UNAUTHENTICATED',
    ] as const) {
      expect(new AppError(code, 'x').grpcStatus).toBe(status[code]);
    }
  });

  it('takes outside codes it knows and calls the rest INTERNAL', () => {
    expect(toErrorCode('PERMISSION_DENIED')).toBe('PERMISSION_DENIED');
    expect(toErrorCode('TEAPOT')).toBe('INTERNAL');
    expect(toErrorCode(undefined)).toBe('INTERNAL');
  });

  it('keeps a gRPC client error code and message, hides unknown errors', () => {
    const grpcError = Object.assign(new Error('5 NOT_FOUND: room x'), {
      code: status.NOT_FOUND,
      details: 'room x not found',
      metadata: new Metadata(),
    });
    expect(fromUnknown(grpcError).toJSON()).toEqual({ code: 'NOT_FOUND', message: 'room x not found' });
    const hidden = fromUnknown(new Error('connection string postgres://secret@db'));
    expect(hidden.toJSON()).toEqual({ code: 'INTERNAL', message: 'internal error' });
  });

  it('describes validation failures by path', () => {
    const schema = z.object({ room: z.string().min(1), count: z.number() });
    expect(() => parseOrThrow(schema, { room: '' }, 'body')).toThrow(/^invalid body: room: .*; count: /);
  });
});
