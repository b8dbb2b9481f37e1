/**
 * Service definitions for grpc-js that skip re-encoding or re-decoding an answer that does not
 * change. A router's RTP capabilities (about 2.5 KB of protobuf) are the same for every call once
 * the router exists, yet cost ~20 µs to encode on the media node and ~10 µs to decode in
 * signaling, each time a room opens or a session asks again: a quarter of what our hop costs above
 * grpc-js's own floor (docs/benchmarks.md).
 *
 * Only frozen values are remembered, so an answer cannot change after its bytes were kept; a
 * remembered decoded answer is deep-frozen before it is handed out, so no caller can change what
 * the next one gets.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

type Methods<S> = readonly (keyof S & string)[];

/**
 * The server's side: each answer object of `methods` is encoded once, its bytes reused for as long
 * as the object lives (a handler returns the same frozen object for the same answer).
 */
export function encodingOnce<S extends ServiceDefinition>(service: S, methods: Methods<S>): S {
  const copy: Record<string, MethodDefinition<unknown, object>> = { ...service };
  for (const name of methods) {
    const method = service[name] as MethodDefinition<unknown, object>;
    const encoded = new WeakMap<object, Buffer>();
    copy[name] = {
      ...method,
      responseSerialize: (value: object) => {
        const known = encoded.get(value);
        if (known) {
          return known;
        }
        const bytes = method.responseSerialize(value);
        if (Object.isFrozen(value)) {
          encoded.set(value, bytes);
        }
        return bytes;
      },
    };
  }
  return copy as S;
}

/**
 * The client's side: an answer of `methods` whose bytes equal the previous answer's is not decoded
 * again; the previous (deep-frozen) value is returned. Comparing 2.5 KB costs well under a
 * microsecond.
 */
export function decodingRepeats<S extends ServiceDefinition>(service: S, methods: Methods<S>): S {
  const copy: Record<string, MethodDefinition<unknown, object>> = { ...service };
  for (const name of methods) {
    const method = service[name] as MethodDefinition<unknown, object>;
    let last: { bytes: Buffer; value: object } | undefined;
    copy[name] = {
      ...method,
      responseDeserialize: (bytes: Buffer) => {
        if (last?.bytes.equals(bytes)) {
          return last.value;
        }
        // Copied: the bytes may be a view of a buffer grpc-js reuses.
        last = { bytes: Buffer.from(bytes), value: deepFreeze(method.responseDeserialize(bytes)) };
        return last.value;
      },
    };
  }
  return copy as S;
}

/** Freezes `value` and everything reachable from it (plain decoded data: no cycles). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) {
      deepFreeze(child);
    }
    Object.freeze(value);
  }
  return value;
}
