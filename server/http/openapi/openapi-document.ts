// Builds the OpenAPI 3.1 document from API_OPERATIONS: zod's own JSON Schema output (draft 2020-12, the dialect
// of OpenAPI 3.1) for request bodies and query parameters, path parameters from the route patterns, the
// session cookie, the metrics token and signed media URLs as security schemes, and the error shape every
// route answers with.
import { z } from 'zod';
import { SESSION_COOKIE } from '../../contracts/auth.ts';
import type { ApiOperation, Audience, Produces } from './api-operations.ts';

type JsonObject = Record<string, unknown>;

const CONTENT_TYPES: Record<Produces, string | null> = {
  json: 'application/json',
  csv: 'text/csv',
  calendar: 'text/calendar',
  hls: 'application/vnd.apple.mpegurl',
  image: 'image/jpeg',
  video: 'video/mp4',
  text: 'text/plain',
  html: 'text/html',
  prometheus: 'text/plain; version=0.0.4',
  redirect: null,
  sdp: 'application/sdp',
  none: null,
};

const SECURITY: Record<Audience, JsonObject[] | undefined> = {
  anyone: undefined,
  session: [{ session: [] }],
  admin: [{ session: [] }],
  operator: [{ metricsToken: [] }, {}],
  'media-token': [{ mediaToken: [] }],
  'stream-key': [{ streamKey: [] }],
  viewer: [{ session: [] }, { mediaBearer: [] }],
};

const AUDIENCE_NOTE: Record<Audience, string> = {
  anyone: '',
  session: `Needs a logged-in session (the \`${SESSION_COOKIE}\` cookie); permissions are checked per resource.`,
  admin: "Needs an admin's session.",
  operator: 'From the server itself (loopback), or with `Authorization: Bearer <LECTERN_METRICS_TOKEN>`.',
  'media-token': 'Authorised by the signed `token` in the URL the API handed out.',
  'stream-key': "Authorised by the class's stream key as a bearer token (no cookie).",
  viewer:
    `The viewer's session (the \`${SESSION_COOKIE}\` cookie) or a media token of the class as a bearer token ` +
    "(from `GET /api/media/classes/{classId}/live`); the class's enrollment rules apply.",
};

/** `/api/courses/:courseId` -> `/api/courses/{courseId}` */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)/g, '{$1}');
}

function jsonSchema(schema: z.ZodType): JsonObject {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonObject;
  delete out.$schema; // the document's dialect already says it
  return out;
}

function parameters(operation: ApiOperation): JsonObject[] {
  const path = [...operation.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = operation.query
    ? Object.entries(operation.query.shape).map(([name, field]) => {
        const schema = jsonSchema(field as z.ZodType);
        const description = typeof schema.description === 'string' ? schema.description : undefined;
        return {
          name,
          in: 'query',
          required: !(field as z.ZodType).safeParse(undefined).success,
          schema,
          ...(description ? { description } : {}),
        };
      })
    : [];
  return [...path, ...query];
}

function operationObject(operation: ApiOperation): JsonObject {
  const status = String(operation.status ?? (operation.produces === 'none' ? 204 : 200));
  const contentType = CONTENT_TYPES[operation.produces];
  const success: JsonObject = {
    description: operation.produces === 'redirect' ? 'Redirects (Location header)' : 'Success',
    ...(contentType
      ? { content: { [contentType]: { schema: contentType === 'application/json' ? { type: 'object' } : { type: 'string' } } } }
      : {}),
  };
  const errorResponse = {
    description: 'A clear error: code and message',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  const out: JsonObject = {
    operationId: `${operation.method}${operation.path
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((part) => part[0]!.toUpperCase() + part.slice(1))
      .join('')}`,
    tags: [operation.tag],
    summary: operation.summary,
    ...(AUDIENCE_NOTE[operation.audience] ? { description: AUDIENCE_NOTE[operation.audience] } : {}),
    parameters: parameters(operation),
    responses: { [status]: success, '4XX': errorResponse, '5XX': errorResponse },
  };
  const security = SECURITY[operation.audience];
  if (security) out.security = security;
  if (operation.body === 'sdp') {
    out.requestBody = { required: true, content: { 'application/sdp': { schema: { type: 'string' } } } };
  } else if (operation.body === 'binary') {
    out.requestBody = {
      required: true,
      content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
    };
  } else if (operation.body) {
    out.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(operation.body) } } };
  }
  return out;
}

export function buildOpenApiDocument(
  operations: readonly ApiOperation[],
  info: { version: string; serverUrl?: string | undefined },
): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const operation of operations) (paths[openApiPath(operation.path)] ??= {})[operation.method] = operationObject(operation);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lectern API',
      version: info.version,
      description:
        'The HTTP API of Lectern, a live classroom. Writes with the session cookie must come from the same origin (CSRF check). ' +
        'Live classes (signalling, chat, Q&A, polls) run over Socket.io at /socket.io/ and are not part of this document.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    tags: [...new Set(operations.map((o) => o.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'LECTERN_METRICS_TOKEN' },
        mediaToken: { type: 'apiKey', in: 'query', name: 'token' },
        streamKey: { type: 'http', scheme: 'bearer', description: "The class's stream key" },
        mediaBearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A media token of the class, as GET /api/media/classes/{classId}/live hands it out',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
              },
            },
          },
        },
      },
    },
  };
}
