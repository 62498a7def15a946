import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../../events/envelope.js';
import { DEFAULT_POLICY, problemStreamId } from '../../../events/problem/index.js';
import { toEpochMs } from '../../../events/time.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../../../infra/sqlite/read-model.js';
import { createApiServices } from '../../../services/commands/index.js';
import { createLedgerQueries, startProjections } from '../../../services/ledgers/index.js';
import type { ImportKind } from '../../../services/spreadsheets/fields.js';
import { createActivities } from '../../../workflows/activities.js';
import { applyStepColour, markStepDone, nextStep, type ClockState } from '../../../workflows/clock.js';

/**
 * Onboarding an office's existing problem list whose deadlines have passed: each row carries the day the
 * problem was found (发现时间); it is recorded now, red at once with its days overdue, and the clock catches
 * up the escalation ladder at once without sending the reminders that fell due before it was on record.
 */
const NOW = '2020-07-05T10:00:00.000+08:00';
/** As the handler writes it (the clock's `now()`, in UTC). */
const RECORDED = new Date(NOW).toISOString();
const [PREFECTURE, WEIXI, TACHENG, QIBIE] = ['533400', '533423', '533423101', '533423101201'];
const silent = pino({ level: 'silent' });

describe('importing problems whose deadlines have passed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duban-import-past-'));
  const store = openSqliteEventStore({ path: join(dir, 'events.db') });
  const readModel = createSqliteReadModel({ path: join(dir, 'ledgers.db') });
  const projections = startProjections({ eventStore: store, readModel, logger: silent });
  const now = () => new Date(NOW);
  const ledgers = createLedgerQueries({ eventStore: store, readModel, now });
  const api = createApiServices({ store, ledgers, policy: DEFAULT_POLICY, logger: silent, now });
  const admin: Actor = { userId: 'admin-zhou', unitId: PREFECTURE, role: 'admin' };
  const supervisor: Actor = { userId: 'sup-zhou', unitId: PREFECTURE, role: 'supervisor' };
  const run = async (kind: ImportKind, csv: string, actor: Actor, dryRun = false) => {
    const { imports } = api.services;
    return imports.run(await imports.read(Buffer.from(csv), kind), { kind, actor, dryRun, correlationId: `test-${kind}` });
  };
  const header = '问题编号,问题所在单位代码,责任单位代码,问题来源,问题类别,严重程度,问题描述,整改时限,发现时间';

  beforeAll(async () => {
    await api.start();
    const units = [
      '单位代码,单位名称,层级,上级单位代码',
      `${PREFECTURE},迪庆藏族自治州,州（市）,`,
      `${WEIXI},维西傈僳族自治县,县（市）,${PREFECTURE}`,
      `${TACHENG},塔城镇,乡（镇）,${WEIXI}`,
      `${QIBIE},启别村,行政村,${TACHENG}`,
    ];
    expect(await run('units', units.join('\n'), admin)).toMatchObject({ valid: true, appended: true });
  });
  afterAll(async () => {
    await projections.stop();
    await api.close();
    await readModel.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a past deadline without the day it was found, naming the row and the rule', async () => {
    const report = await run('problems', `${header}\np-x,${QIBIE},${QIBIE},督查巡查,住房安全,一般,危房改造未完成,2020-06-30,\n`, supervisor, true);
    expect(report.valid).toBe(false);
    expect(report.issues).toEqual([expect.objectContaining({ row: 2, rule: 'problem.find.deadline_passed', message_zh: expect.stringContaining('发现时间') })]);
  });

  it('records a problem found before its deadline red and overdue, and the clock escalates at once as the ladder says', async () => {
    const report = await run('problems', `${header}\np-old,${QIBIE},${QIBIE},督查巡查,住房安全,一般,危房改造未完成,2020-06-30,2020-04-20\n`, supervisor);
    expect(report).toMatchObject({ valid: true, appended: true, rowsToAppend: 1 });
    await projections.caughtUp(await store.headPosition());

    const { items } = await ledgers.problems({ unitId: PREFECTURE });
    expect(items.find((r) => r.problemId === 'p-old')).toMatchObject({
      colour: 'red',
      overdue: true,
      daysOverdue: 5,
      escalationLevel: 0,
      foundAt: '2020-04-20T00:00:00.000+08:00',
      deadline: '2020-06-30T23:59:59.999+08:00',
    });

    // The clock as a fresh workflow run learns it, and its steps that are due now, run as the workflow would.
    const activities = createActivities({ store, notifier: { notify: async () => undefined }, logger: silent });
    let clock = (await activities.loadClock({ problemId: 'p-old' })) as ClockState;
    const ran: { step: string; at: string; recorded: boolean }[] = [];
    for (let step = nextStep(clock); step && toEpochMs(step.at) <= toEpochMs(NOW) && ran.length < 20; step = nextStep(clock)) {
      const outcome = await activities.performStep({ workflowId: 'rectification-p-old', problemId: 'p-old', step });
      clock = markStepDone(clock, step, outcome);
      if (outcome.recorded) clock = applyStepColour(clock, step);
      ran.push({ step: step.name, at: step.at, recorded: outcome.recorded });
    }
    // Deadline 30 June, escalation every 3 days (medium): levels 1 (30 June) and 2 (3 July) fell due, 3 (6 July) not yet.
    // The acknowledge window (2 days) ran from the day it was found (20 April), so its reminder is due at once too.
    expect(ran).toEqual([
      { step: 'ack', at: RECORDED, recorded: true },
      { step: 'esc-1', at: RECORDED, recorded: true },
      { step: 'esc-2', at: RECORDED, recorded: true },
    ]);
    // The next step is the first reminder after the import, not one of those that fell due on 1–4 July.
    expect(nextStep(clock)).toMatchObject({ kind: 'overdue_reminder', name: 'repeat-2-2', at: '2020-07-05T23:59:59.999+08:00' });

    const stream = await store.readStream(problemStreamId('p-old'));
    expect(stream.map((e) => e.type)).toEqual(['ProblemFound', 'WarningColourChanged', 'ReminderIssued', 'ProblemEscalated', 'ProblemEscalated']);
    expect(stream.every((e) => e.metadata.occurredAt === RECORDED)).toBe(true);
    expect(stream.filter((e) => e.type === 'ProblemEscalated').map((e) => (e.data as { toUnitId: string }).toUnitId)).toEqual([TACHENG, WEIXI]);
    await projections.caughtUp(await store.headPosition());
    const after = (await ledgers.problems({ unitId: PREFECTURE })).items.find((r) => r.problemId === 'p-old');
    expect(after).toMatchObject({ colour: 'red', escalationLevel: 2, daysOverdue: 5 });
  });

  it('imports an open plan measure whose deadline passed when the day it was planned comes with it', async () => {
    expect(await run('households', `户编号,所属村代码,家庭人口,户类别\nhh-1,${QIBIE},4,建档立卡户\n`, admin)).toMatchObject({ valid: true });
    const measures = (plannedAt: string) =>
      `户编号,措施编号,措施类型,措施内容,责任单位代码,完成时限,是否完成,制定时间\nhh-1,m-1,就业,安排公益性岗位,${QIBIE},2020-06-30,否,${plannedAt}\n`;
    expect((await run('plan_measures', measures(''), admin, true)).issues).toEqual([expect.objectContaining({ rule: 'household.measure.deadline_passed' })]);
    expect(await run('plan_measures', measures('2020-03-01'), admin)).toMatchObject({ valid: true, appended: true });
    const [added] = (await store.readStream('household-hh-1')).filter((e) => e.type === 'PlanMeasureAdded');
    expect(added?.data).toMatchObject({ deadline: '2020-06-30T23:59:59.999+08:00', plannedAt: '2020-03-01T00:00:00.000+08:00' });
  });
});
