/**
 * The server API for integrators: its two services' generated messages and definitions
 * (switchboard.rooms.v1.RoomService, switchboard.nodes.v1.NodeService) and its OpenAPI document
 * (generated from the same protos by `npm run proto`, so REST and gRPC describe one API).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export * as rooms from './gen/switchboard/rooms/v1/rooms';
export * as nodes from './gen/switchboard/nodes/v1/nodes';

/** The OpenAPI 3.1 document of the REST form of the server API (what `GET /api/v1/openapi.json` serves). */
export const API_OPENAPI: OpenApiDocument = JSON.parse(
  readFileSync(fileURLToPath(new URL('./gen/openapi.json', import.meta.url)), 'utf8'),
) as OpenApiDocument;

export interface JsonSchema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  $ref?: string;
  [extension: string]: unknown;
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
  /** The request message's field (proto3 JSON name) the parameter fills. */
  'x-field': string;
}

export interface OpenApiOperation {
  operationId: string;
  summary?: string;
  description?: string;
  parameters: OpenApiParameter[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<
    string,
    { description: string; content?: { 'application/json': { schema: JsonSchema } } }
  >;
  security: Record<string, string[]>[];
  /** The API-key scope the method needs. */
  'x-scope': string;
  /** The gRPC method: `/switchboard.rooms.v1.RoomService/CreateRoom`. */
  'x-grpc-method': string;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
}
