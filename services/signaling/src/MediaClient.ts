/**
 * A typed client for one media node. Every call carries a deadline and the caller's correlation
 * id in metadata; durations land in a histogram; failures become AppErrors with the gRPC code.
 */
import * as grpc from '@grpc/grpc-js';
import { AUTHORIZATION_METADATA, type ServiceCredentials } from '@switchboard/auth';
import { fromUnknown } from '@switchboard/errors';
import type { client as prom } from '@switchboard/metrics';
import {
  CORRELATION_ID_METADATA,
  decodingRepeats,
  PEER_ID_METADATA,
  MediaServiceService,
  type MediaServiceClient,
  type WatchRoomEventsResponse,
} from '@switchboard/proto';

/**
 * MediaService's client, but a router's RTP capabilities are decoded only when they differ from the
 * last ones (every room of every node has the same, unless nodes run different codec lists).
 */
const Client = grpc.makeGenericClientConstructor(
  decodingRepeats(MediaServiceService, ['getRouterRtpCapabilities']),
  'switchboard.media.v1.MediaService',
) as unknown as new (...args: ConstructorParameters<typeof grpc.Client>) => MediaServiceClient;

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

type Req<M> = M extends Unary<infer R, unknown> ? R : never;
type Res<M> = M extends Unary<never, infer R> ? R : never;

/** Who a call is for: logged by the media node with the request. */
export interface CallMeta {
  correlationId: string;
  /** The peer the call acts for, when there is one. */
  peerId?: string;
}

/** The unary RPCs of MediaService (WatchRoomEvents is the one stream). */
export type UnaryMethod =
  | 'getRouterRtpCapabilities'
  | 'getRtpCapabilities'
  | 'createWebRtcTransport'
  | 'connectWebRtcTransport'
  | 'restartIce'
  | 'closeWebRtcTransport'
  | 'consumeRoomData'
  | 'produce'
  | 'closeProducer'
  | 'pauseProducer'
  | 'resumeProducer'
  | 'consume'
  | 'resumeConsumer'
  | 'pauseConsumer'
  | 'setConsumerPreferredLayers'
  | 'getPeerStats'
  | 'getLoad'
  | 'drain'
  | 'createPipeTransport'
  | 'connectPipeTransport'
  | 'consumeForPipe'
  | 'produceFromPipe'
  | 'closePipeTransport'
  | 'leaveRoom'
  | 'closeRoom';

export class MediaClient {
  readonly instanceId: string;
  readonly address: string;
  readonly #client: MediaServiceClient;
  readonly #timeoutMs: number;
  readonly #credentials: ServiceCredentials;
  readonly #histogram?: prom.Histogram<'method' | 'code'>;
  #closed = false;

  constructor(opts: {
    instanceId: string;
    address: string;
    timeoutMs: number;
    credentials: ServiceCredentials;
    histogram?: prom.Histogram<'method' | 'code'>;
  }) {
    this.instanceId = opts.instanceId;
    this.address = opts.address;
    this.#timeoutMs = opts.timeoutMs;
    this.#credentials = opts.credentials;
    this.#histogram = opts.histogram;
    this.#client = new Client(opts.address, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 15_000,
      'grpc.keepalive_timeout_ms': 5_000,
    });
  }

  /** Calls a unary RPC with a deadline; rejects with an AppError. */
  call<M extends UnaryMethod>(
    method: M,
    request: Req<MediaServiceClient[M]>,
    meta: CallMeta,
    timeoutMs = this.#timeoutMs,
  ): Promise<Res<MediaServiceClient[M]>> {
    const metadata = this.#metadata(meta.correlationId);
    if (meta.peerId) {
      metadata.set(PEER_ID_METADATA, meta.peerId);
    }
    const start = process.hrtime.bigint();
    const fn = this.#client[method] as unknown as Unary<
      Req<MediaServiceClient[M]>,
      Res<MediaServiceClient[M]>
    >;
    return new Promise((resolve, reject) => {
      fn.call(this.#client, request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) => {
        const code = error ? error.code : grpc.status.OK;
        this.#histogram?.observe(
          { method, code: grpc.status[code] ?? String(code) },
          Number(process.hrtime.bigint() - start) / 1e9,
        );
        if (error) {
          reject(fromUnknown(error));
        } else {
          resolve(response);
        }
      });
    });
  }

  /** Opens the room's event stream. The caller cancels it with the returned function. */
  watchRoomEvents(
    roomId: string,
    correlationId: string,
    handlers: { onEvent: (event: WatchRoomEventsResponse) => void; onEnd: (error?: Error) => void },
  ): () => void {
    const metadata = this.#metadata(correlationId);
    const stream = this.#client.watchRoomEvents({ roomId }, metadata);
    let ended = false;
    const end = (error?: Error) => {
      if (!ended) {
        ended = true;
        handlers.onEnd(error);
      }
    };
    stream.on('data', handlers.onEvent);
    stream.on('end', () => end());
    stream.on('error', (error: grpc.ServiceError) =>
      end(error.code === grpc.status.CANCELLED ? undefined : error),
    );
    return () => stream.cancel();
  }

  /** What every call carries: the service token and the correlation id. */
  #metadata(correlationId: string): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set(AUTHORIZATION_METADATA, this.#credentials.authorization());
    metadata.set(CORRELATION_ID_METADATA, correlationId);
    return metadata;
  }

  close(): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#client.close();
    }
  }
}
