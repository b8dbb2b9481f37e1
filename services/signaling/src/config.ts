/** The signaling service's configuration: the only file of this service that reads process.env. */
import { z } from 'zod';
import { DEFAULT_LOBBY_LIMITS } from '@switchboard/rooms';
import type { ExclusionPolicy } from '@switchboard/db';
import {
  backendEnv,
  commonConfig,
  commonEnv,
  loadConfig,
  port,
  serviceSecretEnv,
  trustedProxies,
  type CommonConfig,
} from '@switchboard/config';

export const configSchema = z.object({
  ...commonEnv,
  ...backendEnv,
  ...serviceSecretEnv,
  SIGNALING_HOST: z.string().default('127.0.0.1'),
  SIGNALING_PORT: port(4100),
  SIGNALING_INSTANCE_ID: z.string().optional(),
  MEDIA_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** How often this instance proves it is alive; its peers count as gone after 3 missed beats. */
  SIGNALING_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** How long a browser may leave socket.io's ping unanswered before its connection counts as lost. */
  SIGNALING_PING_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(20_000),
  /** Comma-separated browser origins allowed to connect; empty allows same-origin only via NGINX. */
  SIGNALING_CORS_ORIGINS: z.string().default(''),
  /** Socket events one connection may send per 10 s (beyond: RESOURCE_EXHAUSTED acks). */
  SIGNALING_SOCKET_EVENTS_PER_10S: z.coerce.number().int().min(1).default(300),
  /** Socket events one client (an account, or a guest's address) may send per 10 s over all its sockets. */
  SIGNALING_CLIENT_EVENTS_PER_10S: z.coerce.number().int().min(1).default(1200),
  /** Sockets one client address may hold open on one instance (a join token is one of them). */
  SIGNALING_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
  /** People one meeting's lobby holds at once (beyond: RESOURCE_EXHAUSTED to the next). */
  SIGNALING_LOBBY_MAX: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_LOBBY_LIMITS.lobbyMax),
  /** How long one may wait in a lobby before being sent away (and asked to try again). */
  SIGNALING_LOBBY_WAIT_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(DEFAULT_LOBBY_LIMITS.lobbyWaitMs / 1000),
  /** Chat messages (and edits) one connection may send per 10 s. */
  SIGNALING_CHAT_MESSAGES_PER_10S: z.coerce.number().int().min(1).default(20),
  /** Reactions one participant may send per 10 s (more: RESOURCE_EXHAUSTED, retry after). */
  SIGNALING_REACTIONS_PER_10S: z.coerce.number().int().min(1).default(10),
  /** At most one call-quality sample per participant this often (taken from the stats it asks for). */
  SIGNALING_QUALITY_SAMPLE_MS: z.coerce.number().int().min(1000).default(10_000),
  /** Which proxies' X-Forwarded-For to believe (NGINX in front): IPs, CIDRs, loopback, uniquelocal, or none. */
  SIGNALING_TRUST_PROXY: trustedProxies('loopback,uniquelocal'),
  /** The server API's gRPC port (switchboard.rooms.v1.RoomService; REST is on SIGNALING_PORT under /api/v1/). */
  SIGNALING_API_PORT: port(4150),
  /** Server API calls one API key may make per minute (beyond: RESOURCE_EXHAUSTED, retry after). */
  API_KEY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** Server API calls per client address per minute, before its key is checked. */
  API_ADDRESS_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
  /** How long a join token from the server API works when the call does not say (the gateway's default too). */
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(600),
  /** Meet someone: a waiter with interests takes anyone after this long. */
  MATCH_FALLBACK_MS: z.coerce.number().int().min(0).max(600_000).default(5000),
  /** Meet someone: the same two are not paired again for this long. */
  MATCH_RECENT_MS: z.coerce.number().int().min(0).default(600_000),
  /** Meet someone: a dropped connection keeps its match this long before the partner is freed. */
  MATCH_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(5000),
  /** Meet someone: Start and Next per person per minute (a Next within a second of meeting costs 5). */
  MATCH_PER_MINUTE: z.coerce.number().int().min(1).default(30),
  /** Meet someone: reports from this many different people (addresses) within the window exclude the reported. */
  MATCH_EXCLUDE_AFTER_REPORTS: z.coerce.number().int().min(1).default(3),
  /** Meet someone: the window those reports count in. */
  MATCH_REPORT_WINDOW_MS: z.coerce.number().int().min(1000).default(86_400_000),
  /** Meet someone: how long an automatic exclusion lasts (operators lift or extend it). */
  MATCH_EXCLUSION_MS: z.coerce.number().int().min(1000).default(86_400_000),
  /** Meet someone: reports count once per address, and an exclusion covers the address too ('false' where everyone shares one). */
  MATCH_EXCLUDE_BY_ADDRESS: z.enum(['true', 'false']).default('true'),
});

export interface SignalingConfig extends CommonConfig {
  host: string;
  port: number;
  instanceId?: string;
  databaseUrl: string;
  redisUrl: string;
  jwtSecret: string;
  /** Signs the service token of every call to a media node. */
  serviceSecret: string;
  mediaRpcTimeoutMs: number;
  heartbeatMs: number;
  pingTimeoutMs: number;
  corsOrigins: string[];
  socketLimits: { perSocket: number; perClient: number; windowSeconds: number; socketsPerAddress: number };
  chatLimit: { messages: number; windowSeconds: number };
  /** Reactions per participant per 10 s. */
  reactionsPer10s: number;
  /** At most one call-quality sample per participant this often (for call analytics). */
  qualitySampleMs: number;
  lobby: { lobbyMax: number; lobbyWaitMs: number };
  /** Proxies whose X-Forwarded-For is believed (proxy-addr list; empty: none). */
  trustProxy: string[];
  /** The server API: its gRPC port, rate limits and default join-token lifetime. */
  api: { port: number; perKeyPerMinute: number; perAddressPerMinute: number; tokenTtlSeconds: number };
  /** Meet someone (the /match namespace). */
  match: { fallbackMs: number; recentMs: number; graceMs: number; perMinute: number };
  /** Meet someone: when reports keep the reported out, and how long. */
  exclusion: ExclusionPolicy;
}

export function readConfig(env: Record<string, string | undefined> = process.env): SignalingConfig {
  const c = loadConfig('signaling', configSchema, env);
  return {
    ...commonConfig(c),
    host: c.SIGNALING_HOST,
    port: c.SIGNALING_PORT,
    instanceId: c.SIGNALING_INSTANCE_ID,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    jwtSecret: c.JWT_SECRET,
    serviceSecret: c.SERVICE_SECRET,
    mediaRpcTimeoutMs: c.MEDIA_RPC_TIMEOUT_MS,
    heartbeatMs: c.SIGNALING_HEARTBEAT_MS,
    pingTimeoutMs: c.SIGNALING_PING_TIMEOUT_MS,
    corsOrigins: c.SIGNALING_CORS_ORIGINS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    socketLimits: {
      perSocket: c.SIGNALING_SOCKET_EVENTS_PER_10S,
      perClient: c.SIGNALING_CLIENT_EVENTS_PER_10S,
      windowSeconds: 10,
      socketsPerAddress: c.SIGNALING_SOCKETS_PER_ADDRESS,
    },
    chatLimit: { messages: c.SIGNALING_CHAT_MESSAGES_PER_10S, windowSeconds: 10 },
    reactionsPer10s: c.SIGNALING_REACTIONS_PER_10S,
    qualitySampleMs: c.SIGNALING_QUALITY_SAMPLE_MS,
    lobby: { lobbyMax: c.SIGNALING_LOBBY_MAX, lobbyWaitMs: c.SIGNALING_LOBBY_WAIT_SECONDS * 1000 },
    trustProxy: c.SIGNALING_TRUST_PROXY,
    api: {
      port: c.SIGNALING_API_PORT,
      perKeyPerMinute: c.API_KEY_RATE_LIMIT_PER_MINUTE,
      perAddressPerMinute: c.API_ADDRESS_RATE_LIMIT_PER_MINUTE,
      tokenTtlSeconds: c.TOKEN_TTL_SECONDS,
    },
    match: {
      fallbackMs: c.MATCH_FALLBACK_MS,
      recentMs: c.MATCH_RECENT_MS,
      graceMs: c.MATCH_GRACE_MS,
      perMinute: c.MATCH_PER_MINUTE,
    },
    exclusion: {
      reports: c.MATCH_EXCLUDE_AFTER_REPORTS,
      windowMs: c.MATCH_REPORT_WINDOW_MS,
      durationMs: c.MATCH_EXCLUSION_MS,
      byAddress: c.MATCH_EXCLUDE_BY_ADDRESS === 'true',
    },
  };
}
