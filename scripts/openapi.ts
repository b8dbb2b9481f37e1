/**
 * Writes the OpenAPI document of the public gRPC services (switchboard.rooms.v1, switchboard.nodes.v1) from the
 * proto itself: `buf build` gives the descriptors with their comments and the
 * `switchboard.api.v1.http` / `scope` options, and this turns them into paths, parameters and
 * schemas. Run by `npm run proto`; test/proto.test.ts checks the committed file is what it writes.
 *
 *   node --import tsx scripts/openapi.ts [--out <dir>]   (default common/proto/src/gen)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const PUBLIC_SERVICES = ['switchboard.rooms.v1.RoomService', 'switchboard.nodes.v1.NodeService'];

interface FieldDescriptor {
  name: string;
  number: number;
  label?: string;
  type: string;
  typeName?: string;
  jsonName: string;
  proto3Optional?: boolean;
}
interface MessageDescriptor {
  name: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  options?: { mapEntry?: boolean };
}
interface MethodDescriptor {
  name: string;
  inputType: string;
  outputType: string;
  options?: Record<string, unknown>;
}
interface FileDescriptor {
  name: string;
  package?: string;
  messageType?: MessageDescriptor[];
  service?: { name: string; method?: MethodDescriptor[] }[];
  sourceCodeInfo?: { location?: { path?: number[]; leadingComments?: string }[] };
}
interface HttpRoute {
  method: string;
  path: string;
  body?: string;
}
type Schema = Record<string, unknown>;

function build(): FileDescriptor[] {
  const json = execFileSync(join(ROOT, 'node_modules/.bin/buf'), ['build', '-o', '-#format=json'], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'utf8',
  });
  return (JSON.parse(json) as { file: FileDescriptor[] }).file;
}

function comment(file: FileDescriptor, path: number[]): string | undefined {
  const location = file.sourceCodeInfo?.location?.find(
    (l) => l.path?.length === path.length && l.path.every((v, i) => v === path[i]),
  );
  const text = location?.leadingComments
    ?.split('\n')
    .map((line) => line.replace(/^ /, ''))
    .join('\n')
    .trim();
  return text || undefined;
}

export function openApi(files: FileDescriptor[]) {
  const messages = new Map<string, { file: FileDescriptor; message: MessageDescriptor; path: number[] }>();
  for (const file of files) {
    file.messageType?.forEach((message, i) => {
      messages.set(`.${file.package}.${message.name}`, { file, message, path: [4, i] });
      message.nestedType?.forEach((nested, j) =>
        messages.set(`.${file.package}.${message.name}.${nested.name}`, {
          file,
          message: nested,
          path: [4, i, 3, j],
        }),
      );
    });
  }
  const schemaName = (typeName: string) => typeName.split('.').pop() as string;
  const fieldSchema = (field: FieldDescriptor, description?: string): Schema => {
    let schema: Schema;
    const entry = field.typeName ? messages.get(field.typeName) : undefined;
    if (entry?.message.options?.mapEntry) {
      const value = entry.message.field?.find((f) => f.name === 'value') as FieldDescriptor;
      return { type: 'object', additionalProperties: fieldSchema(value), description };
    }
    switch (field.type) {
      case 'TYPE_STRING':
        schema = { type: 'string' };
        break;
      case 'TYPE_BOOL':
        schema = { type: 'boolean' };
        break;
      case 'TYPE_INT32':
        schema = { type: 'integer', format: 'int32' };
        break;
      case 'TYPE_DOUBLE':
        schema = { type: 'number', format: 'double' };
        break;
      case 'TYPE_MESSAGE':
        schema = { $ref: `#/components/schemas/${schemaName(field.typeName as string)}` };
        break;
      default:
        throw new Error(`field ${field.name}: type ${field.type} has no JSON mapping here yet`);
    }
    if (field.label === 'LABEL_REPEATED') {
      schema = { type: 'array', items: schema };
    }
    return description ? { ...schema, description } : schema;
  };
  const objectSchema = (typeName: string, leaveOut: string[] = []): Schema => {
    const { file, message, path } = messages.get(typeName) as NonNullable<ReturnType<typeof messages.get>>;
    const properties: Record<string, Schema> = {};
    message.field?.forEach((field, k) => {
      if (!leaveOut.includes(field.name)) {
        properties[field.jsonName] = fieldSchema(field, comment(file, [...path, 2, k]));
      }
    });
    const description = comment(file, path);
    return {
      type: 'object',
      ...(description ? { description } : {}),
      properties,
      additionalProperties: false,
    };
  };

  const schemas: Record<string, Schema> = {
    Error: {
      type: 'object',
      properties: {
        code: { type: 'string', description: 'A gRPC status name: INVALID_ARGUMENT, NOT_FOUND, ...' },
        message: { type: 'string', description: 'What went wrong, for people.' },
      },
      required: ['code', 'message'],
    },
  };
  const addSchema = (typeName: string) => {
    const name = schemaName(typeName);
    if (schemas[name]) {
      return;
    }
    schemas[name] = objectSchema(typeName);
    const { message } = messages.get(typeName) as NonNullable<ReturnType<typeof messages.get>>;
    for (const field of message.field ?? []) {
      const nested = field.typeName && messages.get(field.typeName);
      if (field.type === 'TYPE_MESSAGE' && nested && !nested.message.options?.mapEntry) {
        addSchema(field.typeName as string);
      }
    }
  };

  const paths: Record<string, Record<string, unknown>> = {};
  const tags: { name: string; description?: string }[] = [];
  for (const file of files) {
    file.service?.forEach((service, s) => {
      const serviceName = `${file.package}.${service.name}`;
      if (!PUBLIC_SERVICES.includes(serviceName)) {
        return;
      }
      const description = comment(file, [6, s]);
      tags.push({ name: service.name, ...(description ? { description } : {}) });
      service.method?.forEach((method, m) => {
        const route = method.options?.['[switchboard.api.v1.http]'] as HttpRoute | undefined;
        const scope = method.options?.['[switchboard.api.v1.scope]'] as string | undefined;
        if (!route || !scope) {
          throw new Error(`${serviceName}.${method.name} needs the http and scope options`);
        }
        const input = messages.get(method.inputType) as NonNullable<ReturnType<typeof messages.get>>;
        const fields = input.message.field ?? [];
        const inPath = [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((match) => match[1]);
        const byName = (name: string) => {
          const field = fields.find((f) => f.name === name);
          if (!field) {
            throw new Error(`${method.name}: path names ${name}, which ${method.inputType} has not`);
          }
          return field;
        };
        const fieldDoc = (field: FieldDescriptor) =>
          comment(input.file, [...input.path, 2, fields.indexOf(field)]);
        const parameters = [
          ...inPath.map((name) => ({
            name,
            in: 'path',
            required: true,
            ...(fieldDoc(byName(name)) ? { description: fieldDoc(byName(name)) } : {}),
            schema: fieldSchema(byName(name)),
            'x-field': byName(name).jsonName,
          })),
          ...(route.body === '*'
            ? []
            : fields
                .filter((f) => !inPath.includes(f.name))
                .map((field) => ({
                  name: field.jsonName,
                  in: 'query',
                  required: false,
                  ...(fieldDoc(field) ? { description: fieldDoc(field) } : {}),
                  schema: fieldSchema(field),
                  'x-field': field.jsonName,
                }))),
        ];
        let requestBody: unknown;
        if (route.body === '*') {
          const bodyName = `${schemaName(method.inputType)}Body`;
          schemas[bodyName] = objectSchema(method.inputType, inPath);
          requestBody = {
            required: true,
            content: { 'application/json': { schema: { $ref: `#/components/schemas/${bodyName}` } } },
          };
        }
        addSchema(method.outputType);
        const doc = comment(file, [6, s, 2, m]);
        const errors = {
          description: 'An error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        };
        paths[route.path] ??= {};
        paths[route.path][route.method.toLowerCase()] = {
          operationId: method.name,
          ...(doc
            ? {
                summary: doc.split('\n')[0],
                description: `${doc}\n\nNeeds an API key with scope \`${scope}\`.`,
              }
            : {}),
          parameters,
          ...(requestBody ? { requestBody } : {}),
          responses: {
            '200': {
              description: 'OK',
              content: {
                'application/json': {
                  schema: { $ref: `#/components/schemas/${schemaName(method.outputType)}` },
                },
              },
            },
            default: errors,
          },
          security: [{ apiKey: [] }],
          tags: [service.name],
          'x-scope': scope,
          'x-grpc-method': `/${serviceName}/${method.name}`,
        };
      });
    });
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard server API',
      version: 'v1',
      description:
        'Meetings (RoomService) and media nodes (NodeService) of a Switchboard deployment, over REST ' +
        'or gRPC (the same proto). Authenticate with an API key an operator created.',
    },
    // In the order of PUBLIC_SERVICES (RoomService first), whatever order buf reads the files in.
    tags: tags.sort(
      (a, b) =>
        PUBLIC_SERVICES.findIndex((s) => s.endsWith(`.${a.name}`)) -
        PUBLIC_SERVICES.findIndex((s) => s.endsWith(`.${b.name}`)),
    ),
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key as `<key id>:<secret>` (operators create them).',
        },
      },
    },
  };
}

const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 ? process.argv[outFlag + 1] : join(ROOT, 'common/proto/src/gen');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'openapi.json'), `${JSON.stringify(openApi(build()), null, 2)}\n`);
