import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, type Client } from './support/client.js';
import { evidence, registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

const problemBody = (problemId?: string) => ({
  ...(problemId ? { problemId } : {}),
  targetUnitId: U.qibie,
  responsibleUnitId: U.qibie,
  category: 'income',
  source: 'self_check',
  description: '收入未达标',
  severity: 'medium',
  deadline: '2099-06-30',
});

describe('safe retries (Idempotency-Key) and concurrency (If-Match, 409)', () => {
  let svc: TestService;
  let supervisor: Client;
  let cadre: Client;
  let cadreElsewhere: Client;

  beforeAll(async () => {
    // Two API instances on one event store, as two `--role api` processes: races between them are real.
    svc = await startTestService({ apiInstances: 2 });
    await registerPrefecture(client(svc.baseUrl, await svc.token(U.diqing, 'admin')));
    supervisor = client(svc.baseUrl, await svc.token(U.weixi, 'supervisor'));
    cadre = client(svc.baseUrl, await svc.token(U.qibie, 'cadre'));
    cadreElsewhere = client(svc.baseUrls[1]!, await svc.token(U.qibie, 'cadre'));
  });
  afterAll(async () => {
    await svc?.stop();
  });

  describe('Idempotency-Key', () => {
    it('returns the original response for the same key and body, and appends nothing the second time', async () => {
      const first = await supervisor.post('/v1/problems', problemBody(), { 'idempotency-key': 'find-1' });
      expect(first.status).toBe(201);
      const head = await svc.head();
      const again = await supervisor.post('/v1/problems', problemBody(), { 'idempotency-key': 'find-1' });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe(first.headers.get('location'));
      expect(await svc.head()).toBe(head);
    });

    it('refuses the same key with a different body with 422 and appends nothing', async () => {
      await supervisor.post('/v1/problems', problemBody(), { 'idempotency-key': 'find-2' });
      const head = await svc.head();
      const other = await supervisor.post('/v1/problems', { ...problemBody(), severity: 'high' }, { 'idempotency-key': 'find-2' });
      expect(other.status).toBe(422);
      expect(other.body).toMatchObject({ type: 'https://duban.dev/problems/unprocessable', rule: 'http.idempotency_key_reused' });
      expect(other.body.title_zh).toBeTruthy();
      expect(await svc.head()).toBe(head);
    });

    it('under a burst of retries with one key, records the problem exactly once', async () => {
      const head = await svc.head();
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => supervisor.post('/v1/problems', problemBody(), { 'idempotency-key': 'find-burst' })),
      );
      const statuses = answers.map((a) => a.status);
      expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
      const created = answers.filter((a) => a.status === 201);
      expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
      for (const busy of answers.filter((a) => a.status === 409)) expect(busy.body.rule).toBe('http.idempotency_in_progress');
      const appended = (await svc.events()).filter((e) => e.position > head);
      expect(appended.map((e) => e.type)).toEqual(['ProblemFound']);
    });

    it('repeats a refusal too: a retried duplicate stays the same 409', async () => {
      expect((await supervisor.post('/v1/problems', problemBody('dup-1'))).status).toBe(201);
      const refused = await supervisor.post('/v1/problems', problemBody('dup-1'), { 'idempotency-key': 'dup-again' });
      expect(refused.status).toBe(409);
      expect(refused.body.rule).toBe('problem.find.duplicate');
      const replay = await supervisor.post('/v1/problems', problemBody('dup-1'), { 'idempotency-key': 'dup-again' });
      expect(replay.status).toBe(409);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    });

    it('keys belong to their user: another user with the same key is a new request', async () => {
      const other = client(svc.baseUrl, await svc.token(U.weixi, 'supervisor', 'another-supervisor'));
      const mine = await supervisor.post('/v1/problems', problemBody(), { 'idempotency-key': 'shared-key' });
      const theirs = await other.post('/v1/problems', problemBody(), { 'idempotency-key': 'shared-key' });
      expect(theirs.status).toBe(201);
      expect(theirs.body.id).not.toBe(mine.body.id);
    });
  });

  describe('If-Match and concurrent writers', () => {
    async function problemWithMeasures(problemId: string, measures: number) {
      expect((await supervisor.post('/v1/problems', problemBody(problemId))).status).toBe(201);
      for (let i = 0; i < measures; i++) {
        const res = await cadre.post(`/v1/problems/${problemId}/measures`, {
          measureId: `m${i}`,
          description: `措施 ${i}`,
          assigneeUnitId: U.qibie,
          deadline: '2099-06-01',
        });
        expect(res.status).toBe(201);
      }
    }

    it('GET gives the revision as ETag; a command with a stale If-Match is 412 with the current revision and appends nothing', async () => {
      await problemWithMeasures('etag-1', 0);
      const read = await cadre.get('/v1/problems/etag-1');
      expect(read.headers.get('etag')).toBe('"0"');
      const head = await svc.head();
      const stale = await cadre.post('/v1/problems/etag-1/acknowledge', undefined, { 'if-match': '"7"' });
      expect(stale.status).toBe(412);
      expect(stale.body).toMatchObject({ type: 'https://duban.dev/problems/precondition-failed', currentRevision: 0, rule: 'http.if_match' });
      expect(await svc.head()).toBe(head);
      const ok = await cadre.post('/v1/problems/etag-1/acknowledge', undefined, { 'if-match': '"0"' });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('etag')).toBe('"1"');
      const late = await cadre.post('/v1/problems/etag-1/measures', { description: 'x', assigneeUnitId: U.qibie, deadline: '2099-01-01' }, { 'if-match': '"0"' });
      expect(late.status).toBe(412);
      expect(late.body.currentRevision).toBe(1);
    });

    it('of two writers racing with the same If-Match (two API instances), one wins and the loser gets 409 with the current revision', async () => {
      await problemWithMeasures('race-1', 2);
      const etag = (await cadre.get('/v1/problems/race-1')).headers.get('etag')!;
      expect(etag).toBe('"2"');
      const head = await svc.head();
      svc.raceNextAppends('problem-race-1', 2);
      const answers = await Promise.all([
        cadre.post('/v1/problems/race-1/measures/m0/complete', { evidence }, { 'if-match': etag }),
        cadreElsewhere.post('/v1/problems/race-1/measures/m1/complete', { evidence }, { 'if-match': etag }),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const loser = answers.find((a) => a.status === 409)!;
      expect(loser.body).toMatchObject({ type: 'https://duban.dev/problems/revision-conflict', currentRevision: 3 });
      expect((await svc.events()).filter((e) => e.position > head)).toHaveLength(1);
      // The loser re-reads, sees revision 3, and succeeds with it
      const retry = await (answers[0]!.status === 409 ? cadre : cadreElsewhere).post(
        `/v1/problems/race-1/measures/m${answers[0]!.status === 409 ? 0 : 1}/complete`,
        { evidence },
        { 'if-match': '"3"' },
      );
      expect(retry.status).toBe(200);
      expect(retry.headers.get('etag')).toBe('"4"');
    });

    it('without If-Match, the loser of a race is retried on fresh state and both commands apply', async () => {
      await problemWithMeasures('race-2', 2);
      svc.raceNextAppends('problem-race-2', 2);
      const answers = await Promise.all([
        cadre.post('/v1/problems/race-2/measures/m0/complete', { evidence }),
        cadreElsewhere.post('/v1/problems/race-2/measures/m1/complete', { evidence }),
      ]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect((await cadre.get('/v1/problems/race-2')).body).toMatchObject({ measuresDone: 2, revision: 4 });
    });

    it('many concurrent commands on one problem through one instance all apply, in turn', async () => {
      await problemWithMeasures('race-many', 16);
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) => cadre.post(`/v1/problems/race-many/measures/m${i}/complete`, { evidence })),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(16).fill(200));
      expect((await cadre.get('/v1/problems/race-many')).body).toMatchObject({ measuresDone: 16, revision: 32 });
    });

    it('completing the same measure twice concurrently: one 200, one refusal, one event', async () => {
      await problemWithMeasures('race-3', 1);
      const head = await svc.head();
      const answers = await Promise.all([cadre, cadreElsewhere].map((c) => c.post('/v1/problems/race-3/measures/m0/complete', { evidence })));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      expect(answers.find((a) => a.status === 409)!.body.rule).toBe('problem.complete.already_completed');
      expect((await svc.events()).filter((e) => e.position > head).map((e) => e.type)).toEqual(['MeasureCompleted']);
    });
  });
});
