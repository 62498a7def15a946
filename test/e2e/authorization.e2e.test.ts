import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../services/auth/principal.js';
import { client, type Client } from './support/client.js';
import { evidence, registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

/**
 * The authorization matrix: every route × every role × a target inside or outside the caller's subtree.
 * Every caller sits at 维西县 (Weixi county); "inside" targets lie beneath it (塔城镇, 启别村), "outside"
 * ones beneath 德钦县 (Deqin). Each case gets fresh fixtures made by prefecture-level users, then one
 * request; a refused request must append nothing.
 */

type Scope = 'inside' | 'outside';
const roles: Role[] = ['admin', 'supervisor', 'cadre', 'inspector'];

interface Fixtures {
  root: Record<Role, Client>;
  /** Unique id per case. */
  id: (prefix: string) => string;
}

interface RouteCase {
  route: string;
  /**
   * Roles allowed on an inside target (others: 403). An outside target is answered 404 for every role, as
   * if it did not exist, so no answer reveals an id elsewhere. `scoped: false` routes ignore the target.
   */
  allowed: Role[];
  scoped?: boolean;
  /** Status of a successful request. */
  ok?: number;
  /** Builds the fixture for one case and returns the request to send. */
  prepare(f: Fixtures, scope: Scope): Promise<{ method: 'GET' | 'POST'; path: string; body?: unknown }>;
}

const village = (s: Scope) => (s === 'inside' ? U.qibie : U.adong);
const township = (s: Scope) => (s === 'inside' ? U.tacheng : U.shengping);
const county = (s: Scope) => (s === 'inside' ? U.weixi : U.deqin);

async function newHousehold(f: Fixtures, s: Scope) {
  const id = f.id('hh');
  expect((await f.root.admin.post('/v1/households', { id, villageId: village(s), members: 2, category: 'edge' })).status).toBe(201);
  return id;
}
async function newPlanMeasure(f: Fixtures, s: Scope) {
  const householdId = await newHousehold(f, s);
  const measureId = f.id('pm');
  const res = await f.root.admin.post(`/v1/households/${householdId}/measures`, {
    measureId,
    kind: 'housing',
    description: '危房改造',
    responsibleUnitId: village(s),
    deadline: '2099-06-30',
  });
  expect(res.status).toBe(201);
  return { householdId, measureId };
}
async function newProblem(f: Fixtures, s: Scope, stage: 'found' | 'measure' | 'acknowledged' | 'submitted' | 'cleared' = 'found') {
  const problemId = f.id('p');
  const found = await f.root.supervisor.post('/v1/problems', {
    problemId,
    targetUnitId: village(s),
    responsibleUnitId: village(s),
    category: 'water',
    source: 'inspection',
    description: '饮水安全未保障',
    severity: 'medium',
    deadline: '2099-06-30',
  });
  expect(found.status).toBe(201);
  const step = async (path: string, body?: unknown) => expect((await f.root.cadre.post(`/v1/problems/${problemId}/${path}`, body)).status).toBeLessThan(300);
  if (stage === 'found') return { problemId, measureId: '' };
  const measureId = 'm1';
  await step('measures', { measureId, description: '铺设管道', assigneeUnitId: village(s), deadline: '2099-06-01' });
  if (stage === 'measure') return { problemId, measureId };
  await step('acknowledge');
  if (stage === 'acknowledged') return { problemId, measureId };
  await step(`measures/${measureId}/complete`, { evidence });
  await step('submit', { summary: '已通水', evidence });
  if (stage === 'submitted') return { problemId, measureId };
  expect((await f.root.supervisor.post(`/v1/problems/${problemId}/clear`)).status).toBe(200);
  return { problemId, measureId };
}
async function newListing(f: Fixtures, s: Scope) {
  const listingId = f.id('l');
  const res = await f.root.supervisor.post('/v1/listings', {
    listingId,
    targetUnitId: township(s),
    supervisingUnitId: county(s),
    leader: { name: '王书记', position: '县委书记' },
    reason: '剩余贫困人口超过50人',
    metrics: { remainingPoorPeople: 61 },
  });
  expect(res.status).toBe(201);
  return listingId;
}

const matrix: RouteCase[] = [
  {
    route: 'POST /v1/units',
    allowed: ['admin'],
    ok: 201,
    prepare: async (f, s) => ({ method: 'POST', path: '/v1/units', body: { id: f.id('u'), name: '新村', level: 'village', parentId: township(s) } }),
  },
  {
    route: 'POST /v1/households',
    allowed: ['admin'],
    ok: 201,
    prepare: async (f, s) => ({ method: 'POST', path: '/v1/households', body: { id: f.id('hh'), villageId: village(s), members: 3, category: 'registered' } }),
  },
  {
    route: 'POST /v1/households/:id/measures',
    allowed: ['admin', 'cadre'],
    ok: 201,
    prepare: async (f, s) => ({
      method: 'POST',
      path: `/v1/households/${await newHousehold(f, s)}/measures`,
      body: { kind: 'employment', description: '转移就业一人', responsibleUnitId: village(s), deadline: '2099-04-30' },
    }),
  },
  {
    route: 'POST /v1/households/:id/measures/:measureId/complete',
    allowed: ['cadre'],
    prepare: async (f, s) => {
      const { householdId, measureId } = await newPlanMeasure(f, s);
      return { method: 'POST', path: `/v1/households/${householdId}/measures/${measureId}/complete`, body: { evidence } };
    },
  },
  {
    route: 'POST /v1/households/:id/assessments',
    allowed: ['supervisor', 'cadre'],
    prepare: async (f, s) => ({
      method: 'POST',
      path: `/v1/households/${await newHousehold(f, s)}/assessments`,
      body: { food: true, clothing: true, education: true, medical: true, housing: true, water: true },
    }),
  },
  {
    route: 'POST /v1/households/:id/monitoring',
    allowed: ['supervisor', 'cadre'],
    prepare: async (f, s) => ({ method: 'POST', path: `/v1/households/${await newHousehold(f, s)}/monitoring`, body: { flag: 'raise', reason: '因病返贫风险' } }),
  },
  {
    route: 'POST /v1/listings',
    allowed: ['supervisor'],
    ok: 201,
    prepare: async (f, s) => ({
      method: 'POST',
      path: '/v1/listings',
      body: { targetUnitId: township(s), supervisingUnitId: county(s), leader: { name: '李县长', position: '县长' }, reason: '发生率超过1.3%', metrics: { povertyIncidencePercent: 1.4 } },
    }),
  },
  {
    route: 'POST /v1/listings/:id/delist',
    allowed: ['supervisor'],
    prepare: async (f, s) => ({ method: 'POST', path: `/v1/listings/${await newListing(f, s)}/delist` }),
  },
  {
    route: 'POST /v1/problems',
    allowed: ['supervisor', 'inspector'],
    ok: 201,
    prepare: async (_f, s) => ({
      method: 'POST',
      path: '/v1/problems',
      body: { targetUnitId: village(s), responsibleUnitId: village(s), category: 'education', source: 'inspection', description: '控辍保学不到位', severity: 'low', deadline: '2099-06-30' },
    }),
  },
  {
    route: 'POST /v1/problems/:id/acknowledge',
    allowed: ['cadre'],
    prepare: async (f, s) => ({ method: 'POST', path: `/v1/problems/${(await newProblem(f, s)).problemId}/acknowledge` }),
  },
  {
    route: 'POST /v1/problems/:id/measures',
    allowed: ['cadre'],
    ok: 201,
    prepare: async (f, s) => ({
      method: 'POST',
      path: `/v1/problems/${(await newProblem(f, s)).problemId}/measures`,
      body: { description: '入户核查', assigneeUnitId: village(s), deadline: '2099-05-31' },
    }),
  },
  {
    route: 'POST /v1/problems/:id/measures/:measureId/complete',
    allowed: ['cadre'],
    prepare: async (f, s) => {
      const { problemId, measureId } = await newProblem(f, s, 'measure');
      return { method: 'POST', path: `/v1/problems/${problemId}/measures/${measureId}/complete`, body: { evidence } };
    },
  },
  {
    route: 'POST /v1/problems/:id/submit',
    allowed: ['cadre'],
    prepare: async (f, s) => ({ method: 'POST', path: `/v1/problems/${(await newProblem(f, s, 'acknowledged')).problemId}/submit`, body: { summary: '整改完成', evidence } }),
  },
  {
    route: 'POST /v1/problems/:id/reject',
    allowed: ['supervisor'],
    prepare: async (f, s) => ({ method: 'POST', path: `/v1/problems/${(await newProblem(f, s, 'submitted')).problemId}/reject`, body: { reason: '证据不足' } }),
  },
  {
    route: 'POST /v1/problems/:id/clear',
    allowed: ['supervisor'],
    prepare: async (f, s) => ({ method: 'POST', path: `/v1/problems/${(await newProblem(f, s, 'submitted')).problemId}/clear` }),
  },
  {
    route: 'POST /v1/problems/:id/extend',
    allowed: ['supervisor'],
    prepare: async (f, s) => ({ method: 'POST', path: `/v1/problems/${(await newProblem(f, s)).problemId}/extend`, body: { deadline: '2099-12-31', reason: '汛期施工受阻' } }),
  },
  {
    route: 'POST /v1/problems/:id/reopen',
    allowed: ['supervisor', 'inspector'],
    prepare: async (f, s) => ({ method: 'POST', path: `/v1/problems/${(await newProblem(f, s, 'cleared')).problemId}/reopen`, body: { reason: '回头看发现反弹', deadline: '2099-09-30' } }),
  },
  {
    route: 'GET /v1/problems/:id',
    allowed: roles,
    prepare: async (f, s) => ({ method: 'GET', path: `/v1/problems/${(await newProblem(f, s)).problemId}` }),
  },
  {
    route: 'GET /v1/problems/:id/history',
    allowed: roles,
    prepare: async (f, s) => ({ method: 'GET', path: `/v1/problems/${(await newProblem(f, s)).problemId}/history` }),
  },
  { route: 'GET /v1/ledgers/problems', allowed: roles, prepare: async (_f, s) => ({ method: 'GET', path: `/v1/ledgers/problems?unitId=${township(s)}` }) },
  { route: 'GET /v1/ledgers/households', allowed: roles, prepare: async (_f, s) => ({ method: 'GET', path: `/v1/ledgers/households?unitId=${village(s)}` }) },
  { route: 'GET /v1/ledgers/units/:id', allowed: roles, prepare: async (_f, s) => ({ method: 'GET', path: `/v1/ledgers/units/${township(s)}` }) },
  { route: 'GET /v1/escalations', allowed: roles, prepare: async (_f, s) => ({ method: 'GET', path: `/v1/escalations?unitId=${township(s)}` }) },
  { route: 'GET /v1/listings', allowed: roles, prepare: async (_f, s) => ({ method: 'GET', path: `/v1/listings?unitId=${county(s)}` }) },
  { route: 'GET /v1/audit/verify', allowed: ['admin', 'inspector'], scoped: false, prepare: async () => ({ method: 'GET', path: '/v1/audit/verify' }) },
  { route: 'GET /metrics', allowed: roles, scoped: false, prepare: async () => ({ method: 'GET', path: '/metrics' }) },
];

describe('authorization matrix: every route × every role × inside/outside the caller’s subtree', () => {
  let svc: TestService;
  let fixtures: Fixtures;
  let counter = 0;

  beforeAll(async () => {
    svc = await startTestService();
    const root = {} as Record<Role, Client>;
    for (const role of roles) root[role] = client(svc.baseUrl, await svc.token(U.diqing, role, `root-${role}`));
    fixtures = { root, id: (prefix) => `${prefix}-case${++counter}` };
    await registerPrefecture(root.admin);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  const cases = matrix.flatMap((c) =>
    roles.flatMap((role) =>
      (c.scoped === false ? (['inside'] as Scope[]) : (['inside', 'outside'] as Scope[])).map((scope) => {
        const expected = scope === 'outside' ? 404 : c.allowed.includes(role) ? (c.ok ?? 200) : 403;
        return { ...c, role, scope, expected };
      }),
    ),
  );

  it.each(cases)('$route as $role, $scope → $expected', async ({ role, scope, prepare, expected }) => {
    const request = await prepare(fixtures, scope);
    const caller = client(svc.baseUrl, await svc.token(U.weixi, role, `weixi-${role}`));
    const head = await svc.head();
    const res = request.method === 'GET' ? await caller.get(request.path) : await caller.post(request.path, request.body);
    expect({ status: res.status, rule: res.body?.rule, detail: res.body?.detail }).toMatchObject({ status: expected });
    if (expected === 403 || expected === 404) {
      expect(res.body.type).toBe(`https://duban.dev/problems/${expected === 403 ? 'forbidden' : 'not-found'}`);
      expect(await svc.head()).toBe(head);
    } else if (request.method === 'POST') {
      expect(await svc.head()).toBeGreaterThan(head);
    }
  });

  it.each(matrix.map((c) => c.route))('%s without a token → 401, nothing appended', async (route) => {
    const c = matrix.find((m) => m.route === route)!;
    const request = await c.prepare(fixtures, 'inside');
    const head = await svc.head();
    const res = await client(svc.baseUrl).request(request.method, request.path, request.body);
    expect(res.status).toBe(401);
    expect(await svc.head()).toBe(head);
  });

  it('the event stream is open to every role and carries only events of the caller’s subtree', async () => {
    const token = await svc.token(U.weixi, 'cadre');
    const controller = new AbortController();
    const res = await fetch(`${svc.baseUrl}/v1/events/stream`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const inside = await newProblem(fixtures, 'inside');
    const outside = await newProblem(fixtures, 'outside');
    const marker = await newProblem(fixtures, 'inside');
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes(marker.problemId)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    const streams = [...text.matchAll(/"streamId":"([^"]+)"/g)].map((m) => m[1]);
    expect(streams).toContain(`problem-${inside.problemId}`);
    expect(streams).not.toContain(`problem-${outside.problemId}`);
    const targets = [...text.matchAll(/"targetUnitId":"([^"]+)"/g)].map((m) => m[1]);
    expect(targets).not.toContain(U.adong);

    const anonymous = await fetch(`${svc.baseUrl}/v1/events/stream`);
    expect(anonymous.status).toBe(401);
  });
});
