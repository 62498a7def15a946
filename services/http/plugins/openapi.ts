import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifySchema } from 'fastify';
import { createJsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { problemDetailsSchema, problemTitle } from '../problem-details.js';
import { sheetMediaTypes } from '../sheets.js';
import { commandResultSchema } from '../routes/common.js';

/** Response headers the API sends, named once so every route documents them alike. */
const headers = {
  etag: { description: 'The stream revision of the item, quoted; send it back in If-Match', type: 'string', pattern: '^"\\d+"$' },
  location: { description: 'Where the item the request created is read', type: 'string' },
  'retry-after': { description: 'Seconds to wait before retrying', type: 'string', pattern: '^\\d+$' },
  'www-authenticate': { description: 'The Bearer challenge', type: 'string' },
  'content-disposition': { description: 'attachment; filename="…" of the workbook or CSV file', type: 'string' },
  'x-ledger-position': { description: 'The event position the export reflects', type: 'string', pattern: '^\\d+$' },
  'idempotent-replayed': { description: '"true" when this is the stored answer to an earlier request with the same Idempotency-Key', type: 'string', enum: ['true'] },
} as const;
export type ResponseHeader = keyof typeof headers;

/** What the document says of one response beyond its zod schema. */
export interface ResponseDoc {
  /** Headers the response carries, and whether every such response carries them. */
  headers?: Partial<Record<ResponseHeader, 'always' | 'sometimes'>>;
  /** Media types of a body that is not JSON (server-sent events, NDJSON, workbooks), instead of application/json. */
  mediaTypes?: readonly string[];
  description?: string;
  /** An example body, shown under each of its media types (the shape of a stream that no schema can hold). */
  example?: string;
}

/** A request body the route reads itself (a file upload), documented as OpenAPI media types. */
export interface RequestBodyDoc {
  description?: string;
  content: Record<string, { schema: Record<string, unknown> }>;
}

declare module 'fastify' {
  interface FastifySchema {
    /** Documentation only: response headers and non-JSON media types, by status. */
    responseDocs?: Partial<Record<number, ResponseDoc>>;
    /** Documentation only: the body of a route without a `body` schema. */
    requestBodyDocs?: RequestBodyDoc;
  }
}

const PROBLEM_JSON = 'application/problem+json';
type JsonSchema = Record<string, unknown>;
const binary: JsonSchema = { type: 'string', contentMediaType: 'application/octet-stream' };
interface TransformedResponse {
  description?: string;
  headers?: Record<string, JsonSchema>;
  content?: Record<string, { schema: JsonSchema; example?: unknown }>;
}

/**
 * Every response as an explicit OpenAPI response object: problem details as application/problem+json,
 * the headers each status carries, workbooks where the route takes `format`, and what the route declares
 * in `responseDocs`. Works on the route's zod schemas (identity decides what is a problem response).
 */
function documentResponses(route: FastifySchema, method: string | string[], response: Record<string, JsonSchema>): Record<string, TransformedResponse> {
  const post = method === 'POST';
  const zodResponses = (route.response ?? {}) as Record<string, unknown>;
  const exports = Object.hasOwn((route.querystring as { shape?: object } | undefined)?.shape ?? {}, 'format');
  const statuses = new Set([...Object.keys(response), ...Object.keys(route.responseDocs ?? {})]);
  const out: Record<string, TransformedResponse> = {};
  for (const status of statuses) {
    const code = Number(status);
    const doc = route.responseDocs?.[code] ?? {};
    const schema = response[status] ?? binary;
    const isProblem = zodResponses[status] === problemDetailsSchema;
    const sent: Partial<Record<ResponseHeader, 'always' | 'sometimes'>> = { ...doc.headers };
    if (zodResponses[status] === commandResultSchema) sent.etag = 'always';
    if (post && code < 300) sent['idempotent-replayed'] = 'sometimes';
    if (code === 401) sent['www-authenticate'] = 'always';
    if (code === 429) sent['retry-after'] = 'always';
    if (code === 503) sent['retry-after'] = 'always';
    let media: Record<string, { schema: JsonSchema; example?: unknown }>;
    if (isProblem) media = { [PROBLEM_JSON]: { schema } };
    else if (doc.mediaTypes) {
      media = Object.fromEntries(
        doc.mediaTypes.map((type) => [type, { schema: response[status] ? schema : binary, ...(doc.example !== undefined ? { example: doc.example } : {}) }]),
      );
    }
    else media = { 'application/json': { schema } };
    if (exports && code === 200) {
      for (const type of sheetMediaTypes) media[type] = { schema: binary };
      sent['content-disposition'] ??= 'sometimes';
      sent['x-ledger-position'] ??= 'sometimes';
    }
    const described = doc.description ?? (isProblem ? problemTitle(code) : (schema['description'] as string | undefined)) ?? 'Success';
    out[status] = {
      description: described,
      content: media,
      ...(Object.keys(sent).length > 0
        ? {
            headers: Object.fromEntries(
              Object.entries(sent).map(([name, when]) => [name, { ...headers[name as ResponseHeader], ...(when === 'always' ? { required: true } : {}) }]),
            ),
          }
        : {}),
    };
  }
  return out;
}

const zodTransform = createJsonSchemaTransform({});

type Paths = Record<string, Record<string, {
  requestBody?: { required?: boolean; description?: string; content: Record<string, { schema?: JsonSchema; example?: unknown }> };
  responses?: Record<string, { headers?: Record<string, { schema: JsonSchema; required?: boolean }> }>;
}>>;

/**
 * Finishes what @fastify/swagger leaves half done: a response header's `required` moved from its schema
 * (where it is not JSON Schema) to the header; a request body's example shown beside it also when the body
 * is a named component; components without the `$schema` and fragment `$id` zod writes into them.
 */
function finishDocument<T>(document: T): T {
  const { paths, components } = document as { paths?: Paths; components?: { schemas?: Record<string, JsonSchema> } };
  const schemas = components?.schemas ?? {};
  for (const schema of Object.values(schemas)) {
    delete schema['$schema'];
    delete schema['$id'];
  }
  for (const operation of Object.values(paths ?? {}).flatMap((item) => Object.values(item))) {
    for (const header of Object.values(operation.responses ?? {}).flatMap((r) => Object.values(r.headers ?? {}))) {
      if (header.schema['required'] === true) {
        delete header.schema['required'];
        header.required = true;
      }
    }
    const body = operation.requestBody;
    // `emptyBody` (an empty object, null or nothing) is written as anyOf [object, null]; @fastify/swagger
    // marks every body required, but this one may be left out.
    for (const media of Object.values(body?.content ?? {})) {
      const anyOf = media.schema?.['anyOf'];
      if (Array.isArray(anyOf) && anyOf.some((s: JsonSchema) => s['type'] === 'null')) body!.required = false;
    }
    for (const media of Object.values(body?.content ?? {})) {
      const ref = media.schema?.['$ref'];
      const examples = typeof ref === 'string' ? schemas[ref.split('/').pop()!]?.['examples'] : undefined;
      if (media.example === undefined && Array.isArray(examples)) media.example = examples[0];
    }
  }
  return document;
}

/**
 * The OpenAPI 3.1 document is generated from the same zod schemas that validate requests, so it cannot
 * drift from what the routes accept. Must be registered before the routes it documents.
 */
export const openapiPlugin = fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Duban (督办) API',
          description:
            'Listed supervision (挂牌督战): problems tracked to closure, household plans, listings, ledgers (台账) and escalation. ' +
            'Every command appends immutable events. Errors are RFC 9457 problem details (application/problem+json) with English and Chinese titles.',
          version: '1.0.0',
        },
        components: {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
        security: [{ bearer: [] }],
        tags: [
          { name: 'organisation', description: 'Units and households' },
          { name: 'households', description: 'Household plans (一户一方案)' },
          { name: 'listings', description: 'Listed supervision (挂牌督战)' },
          { name: 'problems', description: 'Problems and their rectification (整改)' },
          { name: 'ledgers', description: 'Ledgers (台账), replayable as of a past time' },
          { name: 'reviews', description: 'Monthly reviews (一月一研判) and daily reports (每日一报)' },
          { name: 'data', description: 'Imports and exports of workbooks and CSV' },
          { name: 'audit', description: 'Audit chain and live events' },
        ],
      },
      transform: (input) => {
        const result = zodTransform(input);
        const schema = result.schema as FastifySchema & { response?: Record<string, JsonSchema> };
        if (!schema || schema.hide || !input.schema) return result;
        const { responseDocs: _docs, requestBodyDocs: bodyDoc, ...documented } = schema;
        // @fastify/swagger writes a `body` given as media types into requestBody; the route itself has no body
        // schema (it reads the file), so this never reaches validation.
        if (bodyDoc) Object.assign(documented, { body: { ...bodyDoc, required: true } });
        if (!input.schema.response && !input.schema.responseDocs) return { ...result, schema: documented };
        return { ...result, schema: { ...documented, response: documentResponses(input.schema, input.route.method, schema.response ?? {}) } };
      },
      transformObject: (input) => finishDocument(jsonSchemaTransformObject(input)),
    });
    // Swagger UI's page and assets are documents: helmet's headers, not the JSON answers' (plugins/hardening.ts).
    await app.register(async (docs) => {
      docs.addHook('onRoute', (route) => {
        route.config = { ...(route.config as object), document: true } as typeof route.config;
      });
      await docs.register(swaggerUi, { routePrefix: '/docs' });
    });
    app.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  },
  { name: 'duban-openapi', fastify: '5.x' },
);
