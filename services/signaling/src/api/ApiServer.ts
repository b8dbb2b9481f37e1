/**
 * The server API's two doors: gRPC (switchboard.rooms.v1.RoomService and
 * switchboard.nodes.v1.NodeService on SIGNALING_API_PORT) and REST (`/api/v1/...` on signaling's
 * HTTP port, NGINX routes it here), both described by the protos. The REST routes, their
 * validation and `GET /api/v1/openapi.json` come from the OpenAPI document `npm run proto`
 * generates from them. Each call: the caller's address is rate limited, then the caller is
 * authenticated and must hold the method's scope (the proto's `scope` option): an API key (hash
 * lookup, revocation; its scopes), or over REST a signed-in operator's session (the console:
 * the `sb_at` cookie plus the CSRF header (`x-switchboard-request`) a cross-site form cannot send; every
 * scope). Then the caller is rate limited and RoomApi or NodeApi does the work.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { Ajv, type ValidateFunction } from 'ajv';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { ACCESS_COOKIE, authenticateSession } from '@switchboard/auth';
import { API_SCOPES, type ApiKeyStore } from '@switchboard/db';
import {
  AppError,
  fromUnknown,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '@switchboard/errors';
import { toGrpcError } from '@switchboard/errors/grpc';
import type { Logger } from '@switchboard/logger';
import type { client as prom } from '@switchboard/metrics';
import { API_OPENAPI, nodes, rooms, type OpenApiDocument } from '@switchboard/proto/api';
import { CORRELATION_ID_METADATA } from '@switchboard/proto';
import { CSRF_HEADER } from '@switchboard/protocol';
import { takePoint, timedRequest, type TimedOutcome } from '@switchboard/runtime';
import { clientAddress, type TrustProxy } from '../clientAddress';
import { cookieValue } from '../cookies';
import type { NodeApi } from './NodeApi';
import type { ApiCaller, RoomApi } from './RoomApi';

const BODY_LIMIT = 16 * 1024;

/** An error whose HTTP status is more precise than its code's (405, 413, 415). */
class HttpError extends AppError {
  readonly #status: number;

  constructor(
    code: 'INVALID_ARGUMENT' | 'RESOURCE_EXHAUSTED' | 'FAILED_PRECONDITION',
    message: string,
    status: number,
  ) {
    super(code, message);
    this.#status = status;
  }

  override get httpStatus(): number {
    return this.#status;
  }
}
const PREFIX = '/api/v1/';

type Operation = keyof typeof OPERATIONS;

/** What does the work: one object per service. */
interface Apis {
  rooms: RoomApi;
  nodes: NodeApi;
}

/** Each RPC of the server API and the method that does it (the one table of the API). */
const OPERATIONS = {
  CreateRoom: (api: Apis, r: rooms.CreateRoomRequest, c: ApiCaller) => api.rooms.createRoom(r, c),
  ListRooms: (api: Apis, r: rooms.ListRoomsRequest) => api.rooms.listRooms(r),
  GetRoom: (api: Apis, r: rooms.GetRoomRequest) => api.rooms.getRoom(r),
  DeleteRoom: (api: Apis, r: rooms.DeleteRoomRequest, c: ApiCaller) => api.rooms.deleteRoom(r, c),
  ListParticipants: (api: Apis, r: rooms.ListParticipantsRequest) => api.rooms.listParticipants(r),
  RemoveParticipant: (api: Apis, r: rooms.RemoveParticipantRequest, c: ApiCaller) =>
    api.rooms.removeParticipant(r, c),
  MuteTrack: (api: Apis, r: rooms.MuteTrackRequest, c: ApiCaller) => api.rooms.muteTrack(r, c),
  UpdateParticipant: (api: Apis, r: rooms.UpdateParticipantRequest, c: ApiCaller) =>
    api.rooms.updateParticipant(r, c),
  CreateJoinToken: (api: Apis, r: rooms.CreateJoinTokenRequest, c: ApiCaller) =>
    api.rooms.createJoinToken(r, c),
  ListNodes: (api: Apis) => api.nodes.listNodes(),
  DrainNode: (api: Apis, r: nodes.DrainNodeRequest, c: ApiCaller) => api.nodes.drainNode(r, c),
} satisfies Record<string, (api: Apis, request: never, caller: ApiCaller) => Promise<unknown>>;

/** Who an authenticated call comes from and what it may do. */
interface Principal {
  who: string;
  /** For the per-caller rate limit. */
  limitKey: string;
  scopes: readonly string[];
}

/** A REST route of the OpenAPI document. */
interface Route {
  method: string;
  pattern: RegExp;
  /** The request fields the path's segments fill, in order. */
  pathFields: string[];
  query: Map<string, { field: string; type?: string }>;
  body?: ValidateFunction;
  operation: Operation;
}

export interface ApiServerOptions {
  api: Apis;
  keys: ApiKeyStore;
  /** Verifies operators' access tokens (the console's session). */
  jwtSecret: string;
  redis: Redis;
  /** gRPC port (0: any free port). */
  port: number;
  host: string;
  perKeyPerMinute: number;
  perAddressPerMinute: number;
  trustProxy: TrustProxy;
  histogram: prom.Histogram<'method' | 'transport' | 'code'>;
  logger: Logger;
}

export class ApiServer {
  readonly #o: ApiServerOptions;
  readonly #grpc = new grpc.Server();
  readonly #routes: Route[];
  readonly #scopes: Record<Operation, string>;
  readonly #perKey: RateLimiterRedis;
  readonly #perAddress: RateLimiterRedis;
  #port = 0;

  constructor(options: ApiServerOptions) {
    this.#o = options;
    const limiter = (name: string, points: number) =>
      new RateLimiterRedis({
        storeClient: options.redis,
        keyPrefix: `sb:rl:api:${name}`,
        points,
        duration: 60,
      });
    this.#perKey = limiter('key', options.perKeyPerMinute);
    this.#perAddress = limiter('addr', options.perAddressPerMinute);
    const { routes, scopes } = compileRoutes(API_OPENAPI);
    this.#routes = routes;
    this.#scopes = scopes;
    this.#grpc.addService(rooms.RoomServiceService, this.#roomHandlers());
    this.#grpc.addService(nodes.NodeServiceService, this.#nodeHandlers());
  }

  /** The gRPC port it listens on (after start). */
  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#grpc.bindAsync(
        `${this.#o.host}:${this.#o.port}`,
        grpc.ServerCredentials.createInsecure(),
        (error, port) =>
          error
            ? reject(
                new Error(`cannot listen on ${this.#o.host}:${this.#o.port} (gRPC API): ${error.message}`),
              )
            : resolve(port),
      );
    });
    this.#o.logger.info({ port: this.#port }, 'server API (gRPC) listening');
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#grpc.tryShutdown(() => resolve());
      setTimeout(() => {
        this.#grpc.forceShutdown();
        resolve();
      }, 2000).unref();
    });
  }

  /** Runs one call: address limit, key, key limit, scope, then the operation. */
  async #call(
    operation: Operation,
    request: unknown,
    from: {
      authorization?: string;
      /** The console's session: the access cookie, only when the CSRF header came with it. */
      session?: string;
      address: string;
      correlationId: string;
      transport: 'grpc' | 'rest';
    },
  ): Promise<TimedOutcome<unknown>> {
    const logger = this.#o.logger.child({
      correlationId: from.correlationId,
      roomId: (request as { roomId?: string }).roomId || undefined,
      rpc: operation,
      transport: from.transport,
    });
    const outcome = await timedRequest(operation, logger, async () => {
      await takePoint(
        this.#perAddress,
        from.address,
        'too many API calls from your address; slow down',
        logger,
      );
      const caller = await this.#authenticate(from.authorization, from.session);
      await takePoint(this.#perKey, caller.limitKey, `too many calls from ${caller.who}; slow down`, logger);
      const scope = this.#scopes[operation];
      if (!caller.scopes.includes(scope)) {
        throw new PermissionDeniedError(`${caller.who} lacks the scope ${scope} that ${operation} needs`);
      }
      const run = OPERATIONS[operation] as (api: Apis, r: unknown, c: ApiCaller) => Promise<unknown>;
      return run(this.#o.api, request, {
        who: caller.who,
        correlationId: from.correlationId,
        logger: logger.child({ caller: caller.who }),
      });
    });
    this.#o.histogram.observe(
      { method: operation, transport: from.transport, code: outcome.ok ? 'OK' : outcome.error.code },
      outcome.seconds,
    );
    return outcome;
  }

  /** An API key (the bearer header), else an operator's session (the console), else refused. */
  async #authenticate(authorization: string | undefined, session: string | undefined): Promise<Principal> {
    const match = /^Bearer (.+)$/i.exec(authorization?.trim() ?? '');
    if (!match && session) {
      const claims = await authenticateSession(this.#o.redis, session, this.#o.jwtSecret);
      if (!claims.operator) {
        throw new PermissionDeniedError('operators only: this account is not an operator');
      }
      return { who: `operator:${claims.userId}`, limitKey: `op:${claims.userId}`, scopes: API_SCOPES };
    }
    if (!match) {
      throw new UnauthenticatedError('missing API key: send "authorization: Bearer <key id>:<secret>"');
    }
    const key = await this.#o.keys.verify(match[1]);
    if (!key) {
      throw new UnauthenticatedError('unknown, malformed or revoked API key');
    }
    return { who: `api:${key.id}`, limitKey: key.id, scopes: key.scopes };
  }

  #unary<Req, Res>(operation: Operation): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const metadata = (name: string) => String(call.metadata.get(name)[0] ?? '') || undefined;
      void this.#call(operation, call.request, {
        authorization: metadata('authorization'),
        address: call
          .getPeer()
          .replace(/^ipv[46]:/, '')
          .replace(/:\d+$/, '')
          .replace(/^\[(.*)\]$/, '$1'),
        correlationId: metadata(CORRELATION_ID_METADATA) ?? randomUUID(),
        transport: 'grpc',
      }).then((outcome) =>
        outcome.ok
          ? callback(null, outcome.value as Res)
          : callback(toGrpcError(outcome.error) as grpc.ServiceError),
      );
    };
  }

  #roomHandlers(): rooms.RoomServiceServer {
    return {
      createRoom: this.#unary('CreateRoom'),
      listRooms: this.#unary('ListRooms'),
      getRoom: this.#unary('GetRoom'),
      deleteRoom: this.#unary('DeleteRoom'),
      listParticipants: this.#unary('ListParticipants'),
      removeParticipant: this.#unary('RemoveParticipant'),
      muteTrack: this.#unary('MuteTrack'),
      updateParticipant: this.#unary('UpdateParticipant'),
      createJoinToken: this.#unary('CreateJoinToken'),
    };
  }

  #nodeHandlers(): nodes.NodeServiceServer {
    return { listNodes: this.#unary('ListNodes'), drainNode: this.#unary('DrainNode') };
  }

  /** Serves `/api/v1/...` requests (true), or leaves the request to others (false). */
  async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(PREFIX)) {
      return false;
    }
    const correlationId = headerValue(req.headers[CORRELATION_ID_METADATA]) ?? randomUUID();
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        [CORRELATION_ID_METADATA]: correlationId,
        ...headers,
      });
      res.end(JSON.stringify(body));
    };
    const fail = (error: AppError) =>
      send(
        error.httpStatus,
        error.toJSON(),
        error.retryAfterSeconds === undefined
          ? {}
          : { 'retry-after': String(Math.ceil(error.retryAfterSeconds)) },
      );
    if (url.pathname === `${PREFIX}openapi.json` && req.method === 'GET') {
      send(200, API_OPENAPI, { 'cache-control': 'public, max-age=60' });
      return true;
    }
    try {
      const { route, params } = this.#match(req.method ?? 'GET', url.pathname);
      const request: Record<string, unknown> = {};
      if (route.body) {
        const body = await readJson(req);
        if (!route.body(body)) {
          const issue = route.body.errors?.[0];
          const where = issue?.instancePath ? issue.instancePath.slice(1).replaceAll('/', '.') : 'body';
          const extra =
            issue?.params && 'additionalProperty' in issue.params
              ? ` (${String(issue.params.additionalProperty)})`
              : '';
          throw new InvalidArgumentError(`invalid body: ${where}: ${issue?.message ?? 'invalid'}${extra}`);
        }
        Object.assign(request, body);
      } else {
        for (const [name, value] of url.searchParams) {
          const query = route.query.get(name);
          if (!query) {
            throw new InvalidArgumentError(
              `unknown query parameter ${name}; this route takes ${[...route.query.keys()].join(', ') || 'none'}`,
            );
          }
          request[query.field] = queryValue(name, value, query.type);
        }
      }
      route.pathFields.forEach((field, i) => (request[field] = params[i]));
      const messages = { ...rooms, ...nodes } as unknown as Record<
        string,
        { fromPartial(object: unknown): unknown }
      >;
      const decoded = messages[`${route.operation}Request`].fromPartial(request);
      const outcome = await this.#call(route.operation, decoded, {
        authorization: headerValue(req.headers.authorization),
        session: req.headers[CSRF_HEADER] ? cookieValue(req.headers.cookie, ACCESS_COOKIE) : undefined,
        address: clientAddress(
          req.socket.remoteAddress ?? '',
          req.headers['x-forwarded-for'],
          this.#o.trustProxy,
        ),
        correlationId,
        transport: 'rest',
      });
      if (outcome.ok) {
        send(200, outcome.value);
      } else {
        fail(outcome.error);
      }
    } catch (error) {
      fail(fromUnknown(error));
    }
    return true;
  }

  #match(method: string, path: string): { route: Route; params: string[] } {
    let allowed: string[] = [];
    for (const route of this.#routes) {
      const match = route.pattern.exec(path);
      if (!match) {
        continue;
      }
      if (route.method === method) {
        const params = match.slice(1).map((segment) => {
          try {
            return decodeURIComponent(segment);
          } catch {
            throw new InvalidArgumentError(`malformed path segment ${segment}`);
          }
        });
        return { route, params };
      }
      allowed = [...allowed, route.method];
    }
    if (allowed.length > 0) {
      throw new HttpError(
        'FAILED_PRECONDITION',
        `${method} is not allowed on ${path}; use ${allowed.join(', ')}`,
        405,
      );
    }
    throw new NotFoundError(`no API route ${method} ${path}; see GET ${PREFIX}openapi.json`);
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return (Array.isArray(value) ? value[0] : value) || undefined;
}

function queryValue(name: string, value: string, type: string | undefined): unknown {
  if (type === 'integer') {
    if (!/^-?\d{1,9}$/.test(value)) {
      throw new InvalidArgumentError(`invalid query parameter ${name}: must be an integer`);
    }
    return Number(value);
  }
  if (type === 'boolean') {
    if (value !== 'true' && value !== 'false') {
      throw new InvalidArgumentError(`invalid query parameter ${name}: must be true or false`);
    }
    return value === 'true';
  }
  return value;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = headerValue(req.headers['content-type']) ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(
      'INVALID_ARGUMENT',
      `unsupported content-type ${type || '(none)'}: send JSON (application/json)`,
      415,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) {
      throw new HttpError('RESOURCE_EXHAUSTED', `body larger than ${BODY_LIMIT} bytes`, 413);
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
  } catch {
    throw new InvalidArgumentError('body is not valid JSON');
  }
}

/** The REST routes (and each operation's scope) of the OpenAPI document. */
function compileRoutes(doc: OpenApiDocument): { routes: Route[]; scopes: Record<Operation, string> } {
  const ajv = new Ajv({ allErrors: false, strict: false });
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addSchema({ components: doc.components }, 'doc');
  const routes: Route[] = [];
  const scopes = {} as Record<Operation, string>;
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const operation = op.operationId as Operation;
      if (!(operation in OPERATIONS)) {
        throw new Error(`the OpenAPI document names ${operation}, which ApiServer does not serve`);
      }
      scopes[operation] = op['x-scope'];
      const pathParams = op.parameters.filter((p) => p.in === 'path');
      const pattern = new RegExp(`^${path.replace(/\{[a-z_]+\}/g, '([^/]+)').replaceAll('.', '\\.')}$`);
      const bodyRef = op.requestBody?.content['application/json'].schema.$ref;
      routes.push({
        method: method.toUpperCase(),
        pattern,
        pathFields: [...path.matchAll(/\{([a-z_]+)\}/g)].map(
          (m) => pathParams.find((p) => p.name === m[1])?.['x-field'] ?? m[1],
        ),
        query: new Map(
          op.parameters
            .filter((p) => p.in === 'query')
            .map((p) => [p.name, { field: p['x-field'], type: p.schema.type }]),
        ),
        body: bodyRef ? ajv.compile({ $ref: `doc${bodyRef}` }) : undefined,
        operation,
      });
    }
  }
  return { routes, scopes };
}
