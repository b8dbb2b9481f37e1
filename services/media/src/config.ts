/** The media service's configuration: the only file of this service that reads process.env. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import {
  commonConfig,
  commonEnv,
  loadConfig,
  port,
  serviceSecretEnv,
  type CommonConfig,
} from '@switchboard/config';

const schema = z
  .object({
    ...commonEnv,
    ...serviceSecretEnv,
    MEDIA_GRPC_HOST: z.string().default('127.0.0.1'),
    MEDIA_GRPC_PORT: port(50051),
    MEDIA_METRICS_PORT: port(9101),
    MEDIA_NUM_WORKERS: z.coerce.number().int().min(1).max(64).default(cpus().length),
    MEDIA_LISTEN_IP: z.string().default('127.0.0.1'),
    MEDIA_ANNOUNCED_ADDRESS: z.string().optional(),
    MEDIA_RTC_MIN_PORT: port(40000),
    MEDIA_RTC_MAX_PORT: port(40100),
    /** One UDP + one TCP port per worker for every WebRTC transport (mediasoup WebRtcServer). */
    MEDIA_WEBRTC_SERVER: z.enum(['true', 'false']).default('true'),
    MEDIA_WORKER_LOG_LEVEL: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
    MEDIA_INSTANCE_ID: z.string().optional(),
    /** Rooms (routers) this node accepts; beyond, creating one is RESOURCE_EXHAUSTED. */
    MEDIA_MAX_ROOMS: z.coerce.number().int().min(1).default(500),
    /** Consumers one worker (core) carries; at this times the workers the node takes no new rooms. */
    MEDIA_MAX_CONSUMERS_PER_WORKER: z.coerce.number().int().min(1).default(500),
    /** On SIGTERM: how long calls go on (no new rooms) before they move to other nodes. */
    MEDIA_DRAIN_SECONDS: z.coerce.number().int().min(0).max(3600).default(5),
    /** WebRTC transports one room may hold (two per participant). */
    MEDIA_MAX_TRANSPORTS_PER_ROOM: z.coerce.number().int().min(1).default(500),
    /** Read by mediasoup itself; checked here so a missing worker is a clear startup error. */
    MEDIASOUP_WORKER_BIN: z
      .string()
      .default('')
      .refine((path) => existsSync(path || bundledWorker()), {
        message:
          'no mediasoup worker binary (unset: none bundled with mediasoup either); `npm start` and `npm test` build one and set this',
      }),
  })
  .refine((env) => env.MEDIA_RTC_MIN_PORT <= env.MEDIA_RTC_MAX_PORT, {
    message: 'MEDIA_RTC_MIN_PORT must not exceed MEDIA_RTC_MAX_PORT',
    path: ['MEDIA_RTC_MIN_PORT'],
  })
  .refine(
    (env) =>
      env.MEDIA_WEBRTC_SERVER === 'false' ||
      env.MEDIA_RTC_MAX_PORT - env.MEDIA_RTC_MIN_PORT >= env.MEDIA_NUM_WORKERS,
    {
      message:
        'MEDIA_RTC_MIN_PORT-MEDIA_RTC_MAX_PORT must hold one port per worker (MEDIA_NUM_WORKERS) plus at least one for pipes to other media nodes',
      path: ['MEDIA_RTC_MAX_PORT'],
    },
  );

/** Where mediasoup looks for its worker when MEDIASOUP_WORKER_BIN is not set. */
function bundledWorker(): string {
  const main = createRequire(import.meta.url).resolve('mediasoup'); // <pkg>/node/lib/index.js
  return join(dirname(main), '../../worker/out/Release/mediasoup-worker');
}

export interface MediaConfig extends CommonConfig {
  grpcHost: string;
  grpcPort: number;
  /** Verifies the service token every MediaService call carries. */
  serviceSecret: string;
  metricsPort: number;
  numWorkers: number;
  listenIp: string;
  announcedAddress?: string;
  /**
   * The node's RTC ports: worker i's WebRTC server (every browser transport of that worker) on
   * `rtcMinPort + i`, UDP and TCP; pipe transports to other media nodes on the rest (UDP).
   */
  rtcMinPort: number;
  rtcMaxPort: number;
  pipeMinPort: number;
  pipeMaxPort: number;
  webRtcServer: boolean;
  workerLogLevel: 'debug' | 'warn' | 'error' | 'none';
  instanceId?: string;
  maxRooms: number;
  maxTransportsPerRoom: number;
  maxConsumersPerWorker: number;
  drainMs: number;
}

export function readConfig(env: Record<string, string | undefined> = process.env): MediaConfig {
  const c = loadConfig('media', schema, env);
  return {
    ...commonConfig(c),
    grpcHost: c.MEDIA_GRPC_HOST,
    grpcPort: c.MEDIA_GRPC_PORT,
    serviceSecret: c.SERVICE_SECRET,
    metricsPort: c.MEDIA_METRICS_PORT,
    numWorkers: c.MEDIA_NUM_WORKERS,
    listenIp: c.MEDIA_LISTEN_IP,
    announcedAddress: c.MEDIA_ANNOUNCED_ADDRESS || undefined,
    rtcMinPort: c.MEDIA_RTC_MIN_PORT,
    rtcMaxPort: c.MEDIA_RTC_MAX_PORT,
    webRtcServer: c.MEDIA_WEBRTC_SERVER === 'true',
    pipeMinPort:
      c.MEDIA_WEBRTC_SERVER === 'true' ? c.MEDIA_RTC_MIN_PORT + c.MEDIA_NUM_WORKERS : c.MEDIA_RTC_MIN_PORT,
    pipeMaxPort: c.MEDIA_RTC_MAX_PORT,
    workerLogLevel: c.MEDIA_WORKER_LOG_LEVEL,
    instanceId: c.MEDIA_INSTANCE_ID,
    maxRooms: c.MEDIA_MAX_ROOMS,
    maxTransportsPerRoom: c.MEDIA_MAX_TRANSPORTS_PER_ROOM,
    maxConsumersPerWorker: c.MEDIA_MAX_CONSUMERS_PER_WORKER,
    drainMs: c.MEDIA_DRAIN_SECONDS * 1000,
  };
}
