import { inject } from 'vitest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../setup/services.js';
import { client, type Client } from './support/client.js';
import { evidence, inSeconds, registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface HistoryEvent {
  type: string;
  data: Record<string, unknown>;
  occurredAt: string;
  correlationId: string;
  actor: { userId: string; unitId: string; role: string };
}

/** Polls the problem's history until `done` holds (the workflow acts on its own clock). */
async function historyUntil(api: Client, problemId: string, done: (events: HistoryEvent[]) => boolean, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.get(`/v1/problems/${problemId}/history`);
    expect(res.status).toBe(200);
    if (done(res.body.events)) return res.body.events as HistoryEvent[];
    if (Date.now() > until) throw new Error(`timed out; history: ${res.body.events.map((e: { type: string }) => e.type).join(', ')}`);
    await sleep(500);
  }
}

describeWithService('temporal', 'a problem from finding to clearing, with escalation up the hierarchy (real Temporal)', (temporalAddress) => {
  let svc: TestService;
  let admin: Client;
  let countySupervisor: Client;
  let villageCadre: Client;
  let inspector: Client;

  beforeAll(async () => {
    svc = await startTestService({
      temporalAddress,
      temporalNamespace: inject('temporalNamespace'),
      // The policy is deployment configuration; shortened so the whole ladder runs in seconds.
      policy: {
        acknowledgeWithin: 'PT3S',
        reminderOffsets: ['PT5S'],
        escalationInterval: 'PT3S',
        repeatReminderEvery: 'PT1H',
        severityOverrides: {},
      },
    });
    admin = client(svc.baseUrl, await svc.token(U.diqing, 'admin'));
    countySupervisor = client(svc.baseUrl, await svc.token(U.weixi, 'supervisor', 'zhang.wei'));
    villageCadre = client(svc.baseUrl, await svc.token(U.qibie, 'cadre', 'li.na'));
    inspector = client(svc.baseUrl, await svc.token(U.diqing, 'inspector'));
    await registerPrefecture(admin);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('escalates village → township → county → prefecture when the deadline passes, then clears after verification', async () => {
    // Given a housing problem found by the county, due in 10 seconds
    const deadline = inSeconds(10);
    const found = await countySupervisor.post(
      '/v1/problems',
      {
        problemId: 'weixi-2020-001',
        targetUnitId: U.qibie,
        responsibleUnitId: U.qibie,
        category: 'housing',
        source: 'inspection',
        description: '启别村 危房改造未完成',
        severity: 'high',
        deadline,
      },
      { 'x-correlation-id': 'inspection-weixi-2020-06' },
    );
    expect(found.status).toBe(201);
    expect(found.body).toMatchObject({ id: 'weixi-2020-001', revision: 0, events: [{ type: 'ProblemFound' }] });
    expect(found.headers.get('location')).toBe('/v1/problems/weixi-2020-001');

    // When nobody signs for it and the deadline passes, the clock reminds and escalates one level per interval
    const ladder = await historyUntil(countySupervisor, 'weixi-2020-001', (events) =>
      events.some((e) => e.type === 'ProblemEscalated' && e.data.level === 3),
    );
    const types = ladder.map((e) => e.type);
    expect(types[0]).toBe('ProblemFound');
    expect(ladder[0]!.correlationId).toBe('inspection-weixi-2020-06');
    expect(ladder).toContainEqual(expect.objectContaining({ type: 'ReminderIssued', data: expect.objectContaining({ kind: 'acknowledge' }) }));
    expect(ladder).toContainEqual(
      expect.objectContaining({ type: 'ReminderIssued', data: expect.objectContaining({ kind: 'deadline_approaching' }) }),
    );
    const escalations = ladder.filter((e) => e.type === 'ProblemEscalated');
    expect(escalations.map((e) => [e.data.level, e.data.toUnitId])).toEqual([
      [1, U.tacheng],
      [2, U.weixi],
      [3, U.diqing],
    ]);
    for (const e of escalations) expect(Date.parse(e.occurredAt)).toBeGreaterThanOrEqual(Date.parse(deadline));
    expect(escalations.every((e) => e.actor.role === 'system')).toBe(true);

    // Then the ledgers show it red at the top of the ladder, and the prefecture's escalation board lists it
    await svc.ledgersCaughtUp();
    const ledger = await inspector.get(`/v1/ledgers/problems?unitId=${U.weixi}&overdue=true`);
    expect(ledger.status).toBe(200);
    expect(ledger.body.items).toEqual([
      expect.objectContaining({ problemId: 'weixi-2020-001', colour: 'red', escalationLevel: 3, overdue: true, status: 'open' }),
    ]);
    const board = await inspector.get('/v1/escalations');
    expect(board.body.items).toEqual([expect.objectContaining({ problemId: 'weixi-2020-001', level: 3, toUnitId: U.diqing })]);

    // The village signs for it late, works the measures and submits
    const read = await villageCadre.get('/v1/problems/weixi-2020-001');
    expect(read.status).toBe(200);
    const ack = await villageCadre.post('/v1/problems/weixi-2020-001/acknowledge', undefined, { 'if-match': read.headers.get('etag')! });
    expect(ack.status).toBe(200);
    const measure = await villageCadre.post('/v1/problems/weixi-2020-001/measures', {
      measureId: 'rebuild-house',
      description: '完成危房改造',
      assigneeUnitId: U.qibie,
      deadline: '2099-06-30',
    });
    expect(measure.status).toBe(201);
    const early = await countySupervisor.post('/v1/problems/weixi-2020-001/clear');
    expect(early.status).toBe(409);
    expect(early.body.rule).toBe('problem.clear.open_measures');
    expect((await villageCadre.post('/v1/problems/weixi-2020-001/measures/rebuild-house/complete', { evidence })).status).toBe(200);
    expect((await villageCadre.post('/v1/problems/weixi-2020-001/submit', { summary: '已完成改造', evidence })).status).toBe(200);

    // The county rejects once; the village resubmits
    const rejected = await countySupervisor.post('/v1/problems/weixi-2020-001/reject', { reason: '缺少验收照片' });
    expect(rejected.status).toBe(200);
    expect((await countySupervisor.post('/v1/problems/weixi-2020-001/clear')).body.rule).toBe('problem.clear.no_rectification');
    expect((await villageCadre.post('/v1/problems/weixi-2020-001/submit', { summary: '补充验收照片', evidence })).status).toBe(200);

    // Separation of duty: the responsible village cannot clear its own item
    const own = await villageCadre.post('/v1/problems/weixi-2020-001/clear');
    expect(own.status).toBe(403);

    // The county verifies and clears it (销号)
    const cleared = await countySupervisor.post('/v1/problems/weixi-2020-001/clear');
    expect(cleared.status).toBe(200);
    const final = await countySupervisor.get('/v1/problems/weixi-2020-001');
    expect(final.body).toMatchObject({ status: 'cleared', clearedBy: { userId: 'zhang.wei', unitId: U.weixi } });
    expect(final.headers.get('etag')).toBe(`"${final.body.revision}"`);
    expect(final.body.lateness.at(-1)).toMatchObject({ endedBy: 'cleared', late: true, escalationLevel: 3 });

    // The escalation board no longer lists it; the county roll-up counts it cleared
    await svc.ledgersCaughtUp();
    expect((await inspector.get('/v1/escalations')).body.items).toEqual([]);
    const rollup = await inspector.get(`/v1/ledgers/units/${U.weixi}`);
    expect(rollup.body.unit).toMatchObject({ problemsOpen: 0, problemsCleared: 1 });

    // And the item's history verifies against the audit chain
    const history = await inspector.get('/v1/problems/weixi-2020-001/history');
    expect(history.body.verification.ok).toBe(true);
    // Clearing the red item takes its colour back to none, as an event of its own.
    expect(history.body.events.slice(-2).map((e: { type: string }) => e.type)).toEqual(['ProblemCleared', 'WarningColourChanged']);
    expect((await inspector.get('/v1/audit/verify')).body.ok).toBe(true);
  });

  it('looks back: an inspector reopens a cleared problem with a new deadline, and the ledger as of before still shows it cleared', async () => {
    await svc.ledgersCaughtUp();
    const before = new Date().toISOString();
    const reopened = await inspector.post('/v1/problems/weixi-2020-001/reopen', { reason: '回头看：房屋仍漏雨', deadline: '2099-12-31' });
    expect(reopened.status).toBe(200);
    await svc.ledgersCaughtUp();
    const now = await inspector.get(`/v1/ledgers/problems?unitId=${U.weixi}`);
    expect(now.body.items[0]).toMatchObject({ problemId: 'weixi-2020-001', status: 'open', reopenCount: 1 });
    const then = await inspector.get(`/v1/ledgers/problems?unitId=${U.weixi}&asOf=${encodeURIComponent(before)}`);
    expect(then.status).toBe(200);
    expect(then.body.items[0]).toMatchObject({ problemId: 'weixi-2020-001', status: 'cleared' });
  });
});
