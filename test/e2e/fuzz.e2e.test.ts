import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../services/auth/principal.js';
import { client, type Client } from './support/client.js';
import { evidence, registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

/**
 * Property: whatever a client sends to any route — random JSON, valid bodies with one field broken,
 * unknown fields, odd ids in the path, odd headers — the service never answers 5xx, and a request it
 * refuses appends no event.
 */

type Json = unknown;
interface Template {
  method: 'GET' | 'POST';
  /** `{id}` and `{measureId}` are filled from the fuzzed path ids. */
  path: string;
  body?: Record<string, Json>;
  query?: Record<string, string>;
}

const problemBody = {
  targetUnitId: U.qibie,
  responsibleUnitId: U.qibie,
  category: 'housing',
  source: 'inspection',
  description: '危房',
  severity: 'high',
  deadline: '2099-06-30',
};

const templates: Template[] = [
  { method: 'POST', path: '/v1/units', body: { id: 'fz-u', name: '测试村', level: 'village', parentId: U.tacheng } },
  { method: 'POST', path: '/v1/households', body: { id: 'fz-h', villageId: U.qibie, members: 3, category: 'edge' } },
  { method: 'POST', path: '/v1/households/{id}/measures', body: { kind: 'housing', description: '改造', responsibleUnitId: U.qibie, deadline: '2099-01-01' } },
  { method: 'POST', path: '/v1/households/{id}/measures/{measureId}/complete', body: { evidence } },
  { method: 'POST', path: '/v1/households/{id}/assessments', body: { food: true, clothing: true, education: true, medical: false, housing: true, water: true } },
  { method: 'POST', path: '/v1/households/{id}/monitoring', body: { flag: 'raise', reason: '风险' } },
  { method: 'POST', path: '/v1/listings', body: { targetUnitId: U.tacheng, supervisingUnitId: U.weixi, leader: { name: '王', position: '书记' }, reason: '理由', metrics: { remainingPoorPeople: 60 } } },
  { method: 'POST', path: '/v1/listings/{id}/delist' },
  { method: 'POST', path: '/v1/problems', body: problemBody },
  { method: 'POST', path: '/v1/problems/{id}/acknowledge' },
  { method: 'POST', path: '/v1/problems/{id}/measures', body: { description: '措施', assigneeUnitId: U.qibie, deadline: '2099-02-01' } },
  { method: 'POST', path: '/v1/problems/{id}/measures/{measureId}/complete', body: { evidence } },
  { method: 'POST', path: '/v1/problems/{id}/submit', body: { summary: '完成', evidence } },
  { method: 'POST', path: '/v1/problems/{id}/reject', body: { reason: '不足' } },
  { method: 'POST', path: '/v1/problems/{id}/clear' },
  { method: 'POST', path: '/v1/problems/{id}/extend', body: { deadline: '2099-12-31', reason: '延期' } },
  { method: 'POST', path: '/v1/problems/{id}/reopen', body: { reason: '回头看', deadline: '2099-12-31' } },
  { method: 'GET', path: '/v1/problems/{id}' },
  { method: 'GET', path: '/v1/problems/{id}/history' },
  { method: 'GET', path: '/v1/ledgers/problems', query: { unitId: U.weixi, status: 'open', colour: 'red', overdue: 'true', limit: '10' } },
  { method: 'GET', path: '/v1/ledgers/households', query: { unitId: U.qibie, limit: '5' } },
  { method: 'GET', path: '/v1/ledgers/units/{id}', query: { asOf: '2020-06-30T12:00:00+08:00' } },
  { method: 'GET', path: '/v1/escalations', query: { level: '1', colour: 'red' } },
  { method: 'GET', path: '/v1/listings', query: { active: 'true' } },
  { method: 'GET', path: '/v1/audit/verify' },
];

const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`));
/** Ids that exist, near misses, and junk (unicode, dots, very long). */
const pathId = fc.oneof(
  fc.constantFrom('fz-problem', 'fz-hh', 'fz-listing', 'm0', U.qibie, U.weixi, U.adong, 'unknown'),
  fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }),
  fc.constantFrom('..', '.', '%', ' ', 'a'.repeat(300), '问题', '\u0000'),
);
const jsonValue = fc.jsonValue({ maxDepth: 3 });

function mutatedBody(base: Record<string, Json> | undefined) {
  const keys = Object.keys(base ?? {});
  const variants: fc.Arbitrary<Json>[] = [
    jsonValue,
    fc.constant(undefined),
    fc.constant(base),
    fc.record({ extra: jsonValue }).map((extra) => ({ ...base, unexpectedField: extra.extra })),
  ];
  if (keys.length > 0) {
    variants.push(
      fc.tuple(fc.constantFrom(...keys), jsonValue).map(([key, value]) => ({ ...base, [key]: value })),
      fc.constantFrom(...keys).map((key) => {
        const copy = { ...base };
        delete copy[key];
        return copy;
      }),
      fc.tuple(fc.constantFrom(...keys), fc.string({ maxLength: 5000, unit: 'grapheme' })).map(([key, value]) => ({ ...base, [key]: value })),
    );
  }
  return fc.oneof(...variants);
}

const queryOf = (base: Record<string, string> | undefined) =>
  fc.oneof(
    fc.constant(base ?? {}),
    fc.dictionary(fc.constantFrom('unitId', 'status', 'colour', 'overdue', 'open', 'asOf', 'position', 'limit', 'cursor', 'level', 'active', 'junk'), printable(40)),
    fc.tuple(fc.constantFrom(...Object.keys(base ?? { x: '' })), fc.string({ maxLength: 60, unit: 'grapheme' })).map(([k, v]) => ({ ...base, [k]: v })),
  );

describe('fuzzing every request schema: never a 5xx, nothing appended on a refusal', () => {
  let svc: TestService;
  const callers = {} as Record<Role, Client>;
  const stats = new Map<number, number>();

  beforeAll(async () => {
    svc = await startTestService({ bodyLimit: 16 * 1024 });
    for (const role of ['admin', 'supervisor', 'cadre', 'inspector'] as Role[]) {
      callers[role] = client(svc.baseUrl, await svc.token(U.diqing, role, `fuzz-${role}`));
    }
    await registerPrefecture(callers.admin);
    expect((await callers.supervisor.post('/v1/problems', { ...problemBody, problemId: 'fz-problem' })).status).toBe(201);
    expect((await callers.cadre.post('/v1/problems/fz-problem/measures', { measureId: 'm0', description: 'x', assigneeUnitId: U.qibie, deadline: '2099-01-01' })).status).toBe(201);
    expect((await callers.admin.post('/v1/households', { id: 'fz-hh', villageId: U.qibie, members: 2, category: 'edge' })).status).toBe(201);
    expect(
      (await callers.admin.post('/v1/households/fz-hh/measures', { measureId: 'm0', kind: 'other', description: 'x', responsibleUnitId: U.qibie, deadline: '2099-01-01' })).status,
    ).toBe(201);
    const listing = await callers.supervisor.post('/v1/listings', { listingId: 'fz-listing', ...templates[6]!.body });
    expect(listing.status).toBe(201);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it.each(templates.map((t) => [`${t.method} ${t.path}`, t] as const))('%s', async (_name, template) => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Role>('admin', 'supervisor', 'cadre', 'inspector'),
        pathId,
        pathId,
        template.method === 'POST' ? mutatedBody(template.body) : fc.constant(undefined),
        queryOf(template.query),
        fc.record({
          idempotencyKey: fc.option(printable(300), { nil: undefined }),
          ifMatch: fc.option(fc.oneof(printable(20), fc.nat().map((n) => `"${n}"`)), { nil: undefined }),
          contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded'),
          rawBody: fc.option(fc.oneof(printable(200), fc.constant('{"a":'), fc.constant('x'.repeat(20_000))), { nil: undefined, freq: 8 }),
        }),
        async (role, id, measureId, body, query, extra) => {
          const path =
            template.path.replace('{id}', encodeURIComponent(id)).replace('{measureId}', encodeURIComponent(measureId)) +
            (Object.keys(query).length ? `?${new URLSearchParams(query)}` : '');
          const headers: Record<string, string> = {};
          if (extra.idempotencyKey !== undefined) headers['idempotency-key'] = extra.idempotencyKey;
          if (extra.ifMatch !== undefined) headers['if-match'] = extra.ifMatch;
          const sendsBody = template.method === 'POST' && (body !== undefined || extra.rawBody !== undefined);
          if (sendsBody) headers['content-type'] = extra.contentType;
          const payload = extra.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));

          const head = await svc.head();
          const res = await callers[role].request(template.method, path, sendsBody ? payload : undefined, headers);
          stats.set(res.status, (stats.get(res.status) ?? 0) + 1);
          expect(res.status, `${template.method} ${path} ${String(payload).slice(0, 200)} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.headers.get('content-type')).toContain('application/problem+json');
            expect(res.body.type).toMatch(/^https:\/\/duban\.dev\/problems\//);
            expect(res.text).not.toMatch(/\bat \S+\.(ts|js):\d+/);
            expect(await svc.head(), `refused with ${res.status} but appended`).toBe(head);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('exercised refusals and successes alike', () => {
    const statuses = [...stats.keys()];
    expect(statuses).toEqual(expect.arrayContaining([400, 403, 404]));
    expect(statuses.some((s) => s < 300)).toBe(true);
  });
});
