import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, type Client } from './support/client.js';
import { registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

/**
 * Issue 9, observation 9, over HTTP: given the small Diqing, when a request names an id that does not
 * exist, one outside the caller's subtree, a position past the 64-bit range, a body nested thousands deep,
 * or text that says nothing, then a clear 4xx problem, identical wherever it could reveal an id, and
 * nothing appended.
 */
describe('errors that neither lie nor crash', () => {
  let svc: TestService;
  let top: Client;
  let weixiSupervisor: Client;

  const problem = (over: Record<string, unknown> = {}) => ({
    targetUnitId: U.qibie,
    responsibleUnitId: U.qibie,
    category: 'water',
    source: 'inspection',
    description: '饮水安全未保障',
    severity: 'medium',
    deadline: '2099-06-30',
    ...over,
  });
  /** The parts of a problem document a client can see (the correlation id and instance differ by request). */
  const seen = (body: Record<string, unknown>) => ({ status: body.status, type: body.type, rule: body.rule, detail: body.detail });

  beforeAll(async () => {
    svc = await startTestService();
    top = client(svc.baseUrl, await svc.token(U.diqing, 'admin'));
    await registerPrefecture(top);
    weixiSupervisor = client(svc.baseUrl, await svc.token(U.weixi, 'supervisor'));
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('answers 404 for an unknown unit, even to the top admin', async () => {
    const res = await top.get('/v1/ledgers/units/no-such-unit');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'https://duban.dev/problems/not-found', rule: 'unit.not_found', unitId: 'no-such-unit' });
  });

  it('answers a unit outside the caller’s subtree exactly as one that does not exist', async () => {
    const outside = await weixiSupervisor.get(`/v1/ledgers/units/${U.deqin}`);
    const unknown = await weixiSupervisor.get('/v1/ledgers/units/533499');
    expect(outside.status).toBe(404);
    expect(seen(outside.body)).toEqual({ ...seen(unknown.body), detail: `unit ${U.deqin} was not found` });
    expect(unknown.body.detail).toBe('unit 533499 was not found');

    for (const unitId of [U.adong, 'nowhere']) {
      const head = await svc.head();
      const res = await weixiSupervisor.post('/v1/problems', problem({ targetUnitId: unitId, responsibleUnitId: unitId }));
      expect({ status: res.status, rule: res.body.rule }).toEqual({ status: 404, rule: 'unit.not_found' });
      expect(await svc.head()).toBe(head);
    }
  });

  it('answers a problem outside the caller’s subtree exactly as one never found', async () => {
    const found = await top.post('/v1/problems', problem({ problemId: 'p-deqin', targetUnitId: U.adong, responsibleUnitId: U.adong }), {
      authorization: `Bearer ${await svc.token(U.diqing, 'supervisor')}`,
    });
    expect(found.status).toBe(201);
    const outside = await weixiSupervisor.get('/v1/problems/p-deqin');
    const never = await weixiSupervisor.get('/v1/problems/p-never');
    expect(outside.status).toBe(404);
    expect({ ...seen(outside.body), detail: undefined }).toEqual({ ...seen(never.body), detail: undefined });
    expect((await weixiSupervisor.get('/v1/problems/p-deqin/history')).status).toBe(404);
    const head = await svc.head();
    const command = await weixiSupervisor.post('/v1/problems/p-deqin/extend', { deadline: '2099-12-31', reason: '延期' });
    expect({ status: command.status, rule: command.body.rule }).toEqual({ status: 404, rule: 'problem.not_found' });
    expect(await svc.head()).toBe(head);
  });

  it('answers a position past the 64-bit range with 400, not 500', async () => {
    const res = await top.get(`/v1/ledgers/problems?unitId=${U.diqing}&position=9223372036854775808`);
    expect(res.status).toBe(400);
    expect(res.body.rule).toBe('http.querystring');
    expect((await top.get(`/v1/ledgers/problems?unitId=${U.diqing}&position=9223372036854775807`)).status).toBe(200);
  });

  it('answers JSON nested 6,000 deep with an Idempotency-Key with 400, not 500', async () => {
    const deep = '['.repeat(6000) + ']'.repeat(6000);
    const head = await svc.head();
    const res = await weixiSupervisor.post('/v1/problems', `{"description":${deep}}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await svc.head()).toBe(head);
  });

  it.each([
    ['a problem description', '/v1/problems', (text: string) => problem({ description: text })],
    ['a measure description', '/v1/problems/p-text/measures', (text: string) => ({ description: text, assigneeUnitId: U.qibie, deadline: '2099-05-31' })],
    ['a submission summary', '/v1/problems/p-text/submit', (text: string) => ({ summary: text, evidence: [] })],
  ])('refuses a NUL byte and whitespace-only text as %s', async (_name, path, body) => {
    if ((await top.get('/v1/problems/p-text')).status === 404) {
      expect((await weixiSupervisor.post('/v1/problems', problem({ problemId: 'p-text' }))).status).toBe(201);
    }
    const cadre = client(svc.baseUrl, await svc.token(U.qibie, 'cadre'));
    for (const text of ['危房\u0000改造', '   ', '\u3000\n']) {
      const head = await svc.head();
      const res = await (path === '/v1/problems' ? weixiSupervisor : cadre).post(path, body(text));
      expect({ status: res.status, rule: res.body.rule }).toEqual({ status: 400, rule: 'http.body' });
      expect(await svc.head()).toBe(head);
    }
  });
});
