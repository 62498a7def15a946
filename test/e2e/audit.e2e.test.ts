import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyConsistency, verifyInclusion } from '../../services/audit/merkle.js';
import { client, type Client } from './support/client.js';
import { evidence, registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

const run = promisify(execFile);

/**
 * Inspectors prove the record over HTTP (issue 10): the public key, a digest taken away, proofs that
 * verify with RFC 9162's algorithms, verification scoped to the caller's subtree, an export the offline
 * verifier checks with nothing but the key and the kept digest, and every stream's history.
 */
describe('audit over HTTP', () => {
  let svc: TestService;
  let dir: string;
  let root: Record<'admin' | 'supervisor' | 'cadre' | 'inspector', Client>;
  let weixiInspector: Client;
  let deqinInspector: Client;
  let keptDigest: { treeSize: number; rootHash: string; time: string };
  const problemId = 'p-audit-1';

  beforeAll(async () => {
    svc = await startTestService();
    dir = await mkdtemp(join(tmpdir(), 'duban-inspector-'));
    const as = async (unitId: string, role: 'admin' | 'supervisor' | 'cadre' | 'inspector') => client(svc.baseUrl, await svc.token(unitId, role));
    root = { admin: await as(U.diqing, 'admin'), supervisor: await as(U.diqing, 'supervisor'), cadre: await as(U.diqing, 'cadre'), inspector: await as(U.diqing, 'inspector') };
    weixiInspector = await as(U.weixi, 'inspector');
    deqinInspector = await as(U.deqin, 'inspector');
    await registerPrefecture(root.admin);
    const ok = (res: { status: number; text: string }) => expect(res.status, res.text).toBeLessThan(300);
    ok(await root.supervisor.post('/v1/problems', { problemId, targetUnitId: U.qibie, responsibleUnitId: U.qibie, category: 'water', source: 'inspection', description: '饮水安全未保障', severity: 'medium', deadline: '2099-06-30' }));
    ok(await root.cadre.post(`/v1/problems/${problemId}/acknowledge`));
    ok(await root.cadre.post(`/v1/problems/${problemId}/submit`, { summary: '已通水', evidence }));
    ok(await root.supervisor.post(`/v1/problems/${problemId}/clear`));
    ok(await root.admin.post('/v1/households/hh-1/measures', { measureId: 'pm-1', kind: 'housing', description: '危房改造', responsibleUnitId: U.qibie, deadline: '2099-06-30' }));
    ok(await root.supervisor.post('/v1/listings', { listingId: 'l-1', targetUnitId: U.tacheng, supervisingUnitId: U.weixi, leader: { name: '王书记', position: '县委书记' }, reason: '剩余贫困人口超过50人', metrics: { remainingPoorPeople: 61 } }));
  });
  afterAll(async () => {
    await svc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('signs a digest on demand, serves it and the public key; proofs verify with the RFC algorithms', async () => {
    const key = await root.inspector.get('/v1/audit/public-key');
    expect(key.body).toMatchObject({ algorithm: 'Ed25519', publicKey: expect.stringContaining('BEGIN PUBLIC KEY') });
    const made = await root.inspector.post('/v1/audit/digests');
    expect(made.status).toBe(201);
    keptDigest = made.body;
    expect(keptDigest.treeSize).toBe((await svc.events()).length);
    expect((await root.inspector.get('/v1/audit/digests/latest')).body).toEqual(made.body);
    await writeFile(join(dir, 'key.pem'), key.body.publicKey);
    await writeFile(join(dir, 'digest.json'), JSON.stringify(made.body));

    const events = await svc.events();
    const cleared = events.find((e) => e.type === 'ProblemCleared')!;
    const inclusion = await root.inspector.get(`/v1/audit/proofs/inclusion?eventId=${cleared.metadata.eventId}&treeSize=${keptDigest.treeSize}`);
    expect(inclusion.status).toBe(200);
    expect(inclusion.body).toMatchObject({ streamId: `problem-${problemId}`, revision: cleared.revision, position: cleared.position.toString(), rootHash: keptDigest.rootHash });
    const b = (h: string) => Buffer.from(h, 'hex');
    expect(verifyInclusion(inclusion.body.leafIndex, keptDigest.treeSize, b(inclusion.body.leafHash), inclusion.body.proof.map(b), b(keptDigest.rootHash))).toBe(true);
    const consistency = await root.inspector.get(`/v1/audit/proofs/consistency?from=3&to=${keptDigest.treeSize}`);
    expect(consistency.body.toRoot).toBe(keptDigest.rootHash);
    expect(verifyConsistency(3, keptDigest.treeSize, b(consistency.body.fromRoot), b(keptDigest.rootHash), consistency.body.proof.map(b))).toBe(true);
  });

  it('answers bad proof and verify requests with 4xx problem details', async () => {
    const cases: Array<[string, number]> = [
      ['/v1/audit/proofs/inclusion?eventId=not-a-uuid', 400],
      [`/v1/audit/proofs/inclusion?eventId=00000000-0000-4000-8000-000000000000`, 404],
      [`/v1/audit/proofs/inclusion?eventId=${(await svc.events())[0]!.metadata.eventId}&treeSize=999999`, 400],
      ['/v1/audit/proofs/consistency?from=5&to=2', 400],
      ['/v1/audit/proofs/consistency?from=0&to=2', 400],
      ['/v1/audit/proofs/consistency?from=x&to=2', 400],
      ['/v1/audit/verify?limit=0', 400],
      ['/v1/audit/export?treeSize=123456', 404],
    ];
    for (const [path, status] of cases) {
      const res = await root.inspector.get(path);
      expect({ path, status: res.status, type: typeof res.body?.type }).toEqual({ path, status, type: 'string' });
    }
    expect((await root.cadre.get('/v1/audit/verify')).status).toBe(403);
    expect((await root.cadre.post('/v1/audit/digests')).status).toBe(403);
  });

  it('every stream has a history for inspectors: households with their plan, listings, units', async () => {
    const household = await weixiInspector.get('/v1/households/hh-1/history');
    expect(household.status).toBe(200);
    expect(household.body.plan).toMatchObject({ status: 'registered', measures: { 'pm-1': { description: '危房改造' } } });
    expect(household.body.events.map((e: { type: string }) => e.type)).toEqual(['HouseholdRegistered', 'PlanMeasureAdded']);
    expect(household.body.events[1].actor).toMatchObject({ role: 'admin', unitId: U.diqing });
    expect(household.body.verification).toMatchObject({ ok: true, chain: { ok: true, checked: 2 }, auditTree: { ok: true, checked: 2 } });
    expect((await weixiInspector.get('/v1/listings/l-1/history')).body.verification.ok).toBe(true);
    expect((await weixiInspector.get(`/v1/units/${U.tacheng}/history`)).body.events[0].data).toMatchObject({ name: '塔城镇' });
    expect((await deqinInspector.get('/v1/households/hh-1/history')).status).toBe(404);
    expect((await weixiInspector.get('/v1/households/nobody/history')).status).toBe(404);
  });

  it('a deleted newest event is named by verify (within the subtree, not outside it), by /health, and by the offline verifier', async () => {
    const events = await svc.events();
    const cleared = events.find((e) => e.type === 'ProblemCleared')!;
    const db = new Database(join(svc.dataDir, 'events.db'));
    db.prepare('DELETE FROM events WHERE position = ?').run(Number(cleared.position));
    db.close();
    const expected = { streamId: `problem-${problemId}`, revision: cleared.revision, position: cleared.position.toString(), problem: 'missing' };

    const whole = await root.inspector.get('/v1/audit/verify');
    expect(whole.body).toMatchObject({ ok: false, scope: 'log', breaks: [expected], digest: { signatureHolds: true, rootMatches: true } });
    const weixi = await weixiInspector.get('/v1/audit/verify');
    expect(weixi.body).toMatchObject({ ok: false, scope: 'subtree', breaks: [expected] });
    const deqin = await deqinInspector.get('/v1/audit/verify');
    expect(deqin.body).toMatchObject({ ok: true, scope: 'subtree', breaks: [] });
    await expect(svc.audit.health()).rejects.toThrow(`stream problem-${problemId} revision ${cleared.revision}`);

    const history = await weixiInspector.get(`/v1/problems/${problemId}/history`);
    expect(history.status).toBe(200);

    for (const [who, caller] of [['whole', root.inspector], ['subtree', weixiInspector]] as const) {
      const exported = await caller.get(`/v1/audit/export?treeSize=${keptDigest.treeSize}`);
      expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
      await writeFile(join(dir, `${who}.ndjson`), exported.text);
      const cli = await run('npx', ['tsx', 'services/cli/audit-verify.ts', '--public-key', join(dir, 'key.pem'), '--digest', join(dir, 'digest.json'), '--events', join(dir, `${who}.ndjson`)]).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
      );
      expect(cli.code, cli.stdout).toBe(1);
      expect(cli.stdout).toContain(`BREAK    stream problem-${problemId} revision ${cleared.revision} position ${cleared.position}: deleted`);
      expect(cli.stdout.match(/^BREAK/gm)).toHaveLength(1);
    }
  });
});
