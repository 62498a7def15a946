import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './support/client.js';
import { registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

/**
 * Issue 9, observation 6, over HTTP: given a problem found in 塔城镇 and handed to its village 其宗村, when
 * each unit reads its ledgers, then the village sees it, the township counts it once, and the problem
 * ledger can be filtered by responsible unit.
 */
describe("a unit's problems: under its target, its responsible unit and every unit above either", () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startTestService();
    await registerPrefecture(client(svc.baseUrl, await svc.token(U.diqing, 'admin')));
    const supervisor = client(svc.baseUrl, await svc.token(U.weixi, 'supervisor'));
    for (const [problemId, targetUnitId, responsibleUnitId] of [['p-handed', U.tacheng, U.qizong], ['p-own', U.qibie, U.qibie]] as const) {
      const res = await supervisor.post('/v1/problems', {
        problemId,
        targetUnitId,
        responsibleUnitId,
        category: 'water',
        source: 'inspection',
        description: '饮水安全未保障',
        severity: 'medium',
        deadline: '2099-06-30',
      });
      expect(res.status).toBe(201);
    }
    await svc.ledgersCaughtUp();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('the responsible unit below the target sees its item in its ledger and its roll-up', async () => {
    const qizong = client(svc.baseUrl, await svc.token(U.qizong, 'cadre'));
    const ledger = await qizong.get('/v1/ledgers/problems');
    expect(ledger.status).toBe(200);
    expect(ledger.body.items.map((i: { problemId: string }) => i.problemId)).toEqual(['p-handed']);
    expect((await qizong.get(`/v1/ledgers/units/${U.qizong}`)).body.unit.problemsOpen).toBe(1);
    expect((await qizong.get('/v1/problems/p-handed')).status).toBe(200);
  });

  it('a unit above both counts the problem once', async () => {
    const township = client(svc.baseUrl, await svc.token(U.tacheng, 'inspector'));
    const rollup = await township.get(`/v1/ledgers/units/${U.tacheng}`);
    expect(rollup.body.unit.problemsOpen).toBe(2);
    const children = Object.fromEntries(rollup.body.children.map((c: { unitId: string; problemsOpen: number }) => [c.unitId, c.problemsOpen]));
    expect(children).toEqual({ [U.qibie]: 1, [U.qizong]: 1 });
  });

  it('filters the problem ledger by responsible unit', async () => {
    const county = client(svc.baseUrl, await svc.token(U.weixi, 'inspector'));
    const ids = async (query: string) =>
      (await county.get(`/v1/ledgers/problems?${query}`)).body.items.map((i: { problemId: string }) => i.problemId);
    expect(await ids(`responsibleUnitId=${U.qizong}`)).toEqual(['p-handed']);
    expect(await ids(`unitId=${U.tacheng}&responsibleUnitId=${U.qibie}`)).toEqual(['p-own']);
    expect((await county.get(`/v1/ledgers/problems?responsibleUnitId=${U.adong}`)).status).toBe(404);
  });
});
