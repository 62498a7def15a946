import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../e2e/support/service.js';

interface Media {
  schema?: Record<string, unknown>;
  example?: unknown;
}
interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: Record<string, unknown> }[];
  requestBody?: { required?: boolean; content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media>; headers?: Record<string, { required?: boolean }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

/** The OpenAPI document the running service serves, as a validator and a generated client read it. */
describe('the OpenAPI document', () => {
  let svc: TestService;
  let doc: Document;
  let operations: { method: string; path: string; op: Operation }[];

  beforeAll(async () => {
    svc = await startTestService();
    doc = (await (await fetch(`${svc.baseUrl}/openapi.json`)).json()) as Document;
    operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ method, path, op })));
  });
  afterAll(async () => svc?.stop());

  const where = (o: { method: string; path: string }) => `${o.method.toUpperCase()} ${o.path}`;

  it('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('gives every operation a unique operationId', () => {
    expect(operations.length).toBeGreaterThan(40);
    const missing = operations.filter((o) => !o.op.operationId).map(where);
    expect(missing).toEqual([]);
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents errors as application/problem+json, 429 and 503 included, with Retry-After', () => {
    for (const o of operations) {
      for (const status of ['400', '429', '500', '503']) expect(o.op.responses[status], `${where(o)} ${status}`).toBeDefined();
      for (const [status, response] of Object.entries(o.op.responses)) {
        if (Number(status) < 400 || (o.op.operationId === 'runImport' && status === '422')) continue;
        expect(Object.keys(response.content ?? {}), `${where(o)} ${status}`).toEqual(['application/problem+json']);
      }
      expect(o.op.responses['429']!.headers?.['retry-after']?.required).toBe(true);
      expect(o.op.responses['503']!.headers?.['retry-after']?.required).toBe(true);
    }
  });

  it('documents Idempotency-Key on every command, If-Match where it applies, ETag and Location where sent', () => {
    const commands = operations.filter((o) => o.method === 'post' && !o.path.startsWith('/v1/dev/') && o.path !== '/v1/audit/digests' && o.path !== '/v1/imports');
    expect(commands.length).toBeGreaterThan(15);
    for (const o of commands) {
      expect(o.op.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key'), where(o)).toBe(true);
      const success = o.op.responses['200'] ?? o.op.responses['201'];
      expect(success?.headers?.['etag']?.required, where(o)).toBe(true);
      const ifMatch = o.op.parameters?.some((p) => p.in === 'header' && p.name === 'if-match');
      expect(ifMatch, where(o)).toBe(o.path.startsWith('/v1/problems/'));
      expect(o.op.responses['412'] !== undefined, where(o)).toBe(ifMatch);
    }
    const op = (id: string) => operations.find((o) => o.op.operationId === id)!.op;
    expect(op('getProblem').responses['200']!.headers?.['etag']?.required).toBe(true);
    expect(op('registerUnit').responses['201']!.headers?.['location']?.required).toBe(true);
    expect(op('findProblem').responses['201']!.headers?.['location']?.required).toBe(true);
    expect(op('runImport').responses['202']!.headers?.['location']?.required).toBe(true);
    expect(op('assignMeasure').responses['201']).toBeDefined();
  });

  it('writes every pattern without \\p{..} or \\s, so request generators can read it', () => {
    const patterns: string[] = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        for (const [key, v] of Object.entries(value)) {
          if (key === 'pattern' && typeof v === 'string') patterns.push(v);
          else walk(v);
        }
      }
    };
    walk(doc);
    expect(patterns.length).toBeGreaterThan(10);
    expect(patterns.filter((p) => /\\[pP]\{|\\s/.test(p))).toEqual([]);
  });

  it('documents the Idempotency-Key pattern, bodies that may be left out, and the import file', () => {
    const op = (id: string) => operations.find((o) => o.op.operationId === id)!.op;
    const key = op('findProblem').parameters?.find((p) => p.in === 'header' && p.name === 'idempotency-key');
    expect(key?.schema?.['pattern']).toBe('^[\\x21-\\x7e]{1,255}$');
    for (const id of ['signAuditDigest', 'delistTarget', 'acknowledgeProblem', 'clearProblem']) {
      const body = op(id).requestBody;
      expect(body?.required, id).toBe(false);
      expect(body?.content['application/json']?.schema?.['anyOf'], id).toEqual([{ type: 'object', properties: {}, additionalProperties: false }, { type: 'null' }]);
    }
    const upload = op('runImport').requestBody;
    expect(upload?.required).toBe(true);
    expect(Object.keys(upload?.content ?? {}).sort()).toEqual(
      ['application/octet-stream', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'multipart/form-data', 'text/csv'],
    );
    const stream = op('streamEvents').responses['200']!.content!['text/event-stream']!;
    expect(String(stream.example)).toMatch(/^id: \d+\nevent: \w+\ndata: \{.*"streamId"/m);
  });

  it('documents the live events as text/event-stream and the audit export as NDJSON', () => {
    const op = (id: string) => operations.find((o) => o.op.operationId === id)!.op;
    expect(Object.keys(op('streamEvents').responses['200']!.content ?? {})).toEqual(['text/event-stream']);
    expect(Object.keys(op('exportAudit').responses['200']!.content ?? {})).toEqual(['application/x-ndjson']);
  });

  it('offers the ledgers and reviews as xlsx or CSV through `format`, as the console looks for it', () => {
    const xlsx = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    // web/src/pages/problems/ExportButton.tsx shows 导出 only when this parameter is there.
    const ledger = doc.paths['/v1/ledgers/problems']?.get;
    expect(ledger?.parameters?.some((p) => p.in === 'query' && p.name === 'format')).toBe(true);
    for (const id of ['getProblemLedger', 'getHouseholdLedger', 'getUnitRollup', 'getEscalationBoard', 'getListingBoard', 'getMonthlyReview', 'getDailyReport', 'exportPlanMeasures']) {
      const o = operations.find((x) => x.op.operationId === id)!;
      expect(o.op.parameters?.some((p) => p.in === 'query' && p.name === 'format'), id).toBe(true);
      expect(Object.keys(o.op.responses['200']!.content ?? {}), id).toEqual(expect.arrayContaining([xlsx, 'text/csv']));
    }
  });

  it('gives every request body an example that the service accepts as well formed', async () => {
    const token = await svc.token('533400', 'admin');
    const withBodies = operations.filter((o) => o.op.requestBody);
    expect(withBodies.length).toBeGreaterThan(15);
    for (const o of withBodies) {
      const [type, media] = Object.entries(o.op.requestBody!.content)[0]!;
      if (type !== 'application/json') continue;
      const schema = media.schema?.['$ref'] ? doc.components.schemas[String(media.schema['$ref']).split('/').pop()!] : media.schema;
      const example = media.example ?? (schema?.['examples'] as unknown[] | undefined)?.[0];
      expect(example, where(o)).toBeDefined();
      const response = await fetch(svc.baseUrl + o.path.replaceAll(/\{[^}]+\}/g, 'example-id'), {
        method: o.method.toUpperCase(),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(example),
      });
      const body = (await response.json()) as { rule?: string; issues?: unknown };
      expect(body.rule, `${where(o)}: ${JSON.stringify(body.issues)}`).not.toBe('http.body');
    }
  });
});
