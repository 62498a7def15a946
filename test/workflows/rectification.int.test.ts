import { expect, it } from 'vitest';
import { rectificationWorkflowId } from '../../workflows/rectification.contract.js';
import { describeWithService } from '../setup/services.js';
import { useClockHarness } from './harness.js';
import {
  cadre,
  clockRecords,
  DAY,
  eventually,
  HOUR,
  inspector,
  readProblem,
  runCommand,
  supervisor,
  units,
} from './world.js';

const { village, township, county, prefecture } = units;
const reason = expect.any(String);
const blue = (at: number) => [
  { type: 'ReminderIssued', data: { kind: 'deadline_approaching', level: 0, recipients: [village.unitId] }, at },
  { type: 'WarningColourChanged', data: { colour: 'blue', reason: 'deadline approaching' }, at },
];
const remind = (at: number) => ({
  type: 'ReminderIssued',
  data: { kind: 'deadline_approaching', level: 0, recipients: [village.unitId] },
  at,
});
const escalated = (level: number, toUnitId: string, at: number) => ({
  type: 'ProblemEscalated',
  data: { level, toUnitId, colour: 'red', reason },
  at,
});
/** Clearing a red item takes its colour back to none, as an event of its own. */
const cleared = (at: number) => ({ type: 'WarningColourChanged', data: { colour: 'none', reason: 'cleared' }, at });
/** The first escalation turns the item red, as an event of its own. */
const red = (at: number) => ({ type: 'WarningColourChanged', data: { colour: 'red', reason: 'deadline passed' }, at });

describeWithService('redis', 'rectification workflow on the time-skipping server', (redisUrl) => {
  const h = useClockHarness(redisUrl);

  it('given a 30-day deadline, acknowledged: two blue reminders, then village → township → county → prefecture, then a repeat at the top', async () => {
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem('p-ladder', deadline);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'p-ladder' }, cadre, h.iso(h.t0 + HOUR));
    await h.until('p-ladder', (v) => v.acknowledged);

    const wall = Date.now();
    await h.sleep(42 * DAY);
    const wallMs = Date.now() - wall;

    expect(clockRecords(await readProblem(h.world.store, 'p-ladder'))).toEqual([
      ...blue(deadline - 3 * DAY),
      remind(deadline - DAY),
      escalated(1, township.unitId, deadline),
      red(deadline),
      escalated(2, county.unitId, deadline + 3 * DAY),
      escalated(3, prefecture.unitId, deadline + 6 * DAY),
      {
        type: 'ReminderIssued',
        data: { kind: 'overdue', level: 3, recipients: [prefecture.unitId, village.unitId] },
        at: deadline + 11 * DAY,
      },
    ]);
    expect(wallMs).toBeLessThan(30_000);
    await h.recordHistory('p-ladder', 'ladder');

    const view = await h.query('p-ladder');
    expect(view).toMatchObject({ level: 3, colour: 'red', currentUnitId: prefecture.unitId, status: 'open' });
    expect(view?.next).toMatchObject({ action: 'overdue_reminder', at: h.iso(deadline + 16 * DAY) });
    // What Temporal's visibility filters by followed the ladder (set at start as level 0, colour none).
    const { typedSearchAttributes: attributes } = await h.env.client.workflow.getHandle(rectificationWorkflowId('p-ladder')).describe();
    expect(Object.fromEntries(attributes.getAll().map(({ key, value }) => [key.name, value]))).toMatchObject({
      DubanUnitId: village.unitId,
      DubanResponsibleUnitId: village.unitId,
      DubanColour: 'red',
      DubanLevel: 3,
      DubanDeadline: new Date(deadline),
      DubanStatus: 'acknowledged',
    });

    // What the clock recorded belongs to the request that found the item; each names its step as cause.
    const history = await readProblem(h.world.store, 'p-ladder');
    const found = history.find((e) => e.type === 'ProblemFound');
    const clockWritten = history.filter((e) => e.metadata.actor.role === 'system');
    expect(clockWritten.map((e) => e.type)).toContain('ProblemEscalated');
    for (const e of clockWritten) {
      expect(e.metadata.correlationId).toBe(found?.metadata.correlationId);
      expect(e.metadata.causationId).toMatch(/^clock:/);
    }

    // Every escalation was announced on Redis to the unit it went to.
    const stored = history.filter((e) => e.type === 'ProblemEscalated');
    await eventually(() =>
      stored.every((e) => h.world.notifications.some((m) => m.eventId === e.metadata.eventId)) ? true : undefined,
    );
    expect(h.world.notifications.filter((m) => m.kind === 'escalation').map((m) => m.recipients)).toEqual([
      [township.unitId],
      [county.unitId],
      [prefecture.unitId],
    ]);
  });

  it('given an item nobody acknowledges and a measure due in 10 days: acknowledge reminder then yellow, and the assignee is reminded of the measure', async () => {
    const deadline = h.t0 + 30 * DAY;
    const t0 = await h.findProblem('p-unsigned', deadline);
    await runCommand(
      h.world.store,
      {
        type: 'assignMeasure',
        problemId: 'p-unsigned',
        measureId: 'm-roof',
        description: '修缮屋顶',
        assigneeUnitId: village.unitId,
        deadline: h.iso(t0 + 10 * DAY),
      },
      cadre,
      h.iso(t0),
    );
    await h.until('p-unsigned', (v) => v.revision >= 1);

    await h.sleep(12 * DAY);

    expect(clockRecords(await readProblem(h.world.store, 'p-unsigned'))).toEqual([
      {
        type: 'ReminderIssued',
        data: { kind: 'acknowledge', level: 0, recipients: [village.unitId] },
        at: t0 + 2 * DAY,
      },
      {
        type: 'WarningColourChanged',
        data: { colour: 'yellow', reason: 'not acknowledged within the policy window' },
        at: t0 + 2 * DAY,
      },
      { type: 'ReminderIssued', data: { kind: 'deadline_approaching', level: 0, recipients: [village.unitId] }, at: t0 + 9 * DAY },
      { type: 'ReminderIssued', data: { kind: 'overdue', level: 0, recipients: [village.unitId] }, at: t0 + 10 * DAY },
    ]);
    expect(await h.query('p-unsigned')).toMatchObject({ colour: 'yellow', acknowledged: false, level: 0 });
  });

  it('given an extension by 10 days before the deadline, when time passes: every later step moves by 10 days', async () => {
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem('p-extend', deadline);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'p-extend' }, cadre, h.iso(h.t0 + HOUR));
    await h.until('p-extend', (v) => v.acknowledged);
    await h.sleep(20 * DAY);

    const extended = deadline + 10 * DAY;
    await runCommand(
      h.world.store,
      { type: 'extendDeadline', problemId: 'p-extend', deadline: h.iso(extended), reason: '雨季施工困难' },
      supervisor,
      h.iso(await h.now()),
    );
    await h.until('p-extend', (v) => v.deadline === h.iso(extended));
    await h.sleep(30 * DAY);

    expect(clockRecords(await readProblem(h.world.store, 'p-extend'))).toEqual([
      ...blue(extended - 3 * DAY),
      remind(extended - DAY),
      escalated(1, township.unitId, extended),
      red(extended),
      escalated(2, county.unitId, extended + 3 * DAY),
      escalated(3, prefecture.unitId, extended + 6 * DAY),
    ]);
  });

  it('given an item escalated once, when it is cleared: the ladder stops and the workflow completes', async () => {
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem('p-clear', deadline);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'p-clear' }, cadre, h.iso(h.t0 + HOUR));
    await h.until('p-clear', (v) => v.acknowledged);
    await h.sleep(31 * DAY);
    await h.until('p-clear', (v) => v.level === 1);

    const now = await h.now();
    await runCommand(
      h.world.store,
      { type: 'submitRectification', problemId: 'p-clear', summary: '已完成整改', evidence: [] },
      cadre,
      h.iso(now),
    );
    await runCommand(h.world.store, { type: 'clearProblem', problemId: 'p-clear' }, supervisor, h.iso(now));
    const result = await h.completed('p-clear');
    expect(result).toEqual({ problemId: 'p-clear', status: 'cleared', level: 1 });
    await h.recordHistory('p-clear', 'cleared');

    await h.sleep(20 * DAY);
    expect(clockRecords(await readProblem(h.world.store, 'p-clear'))).toEqual([
      ...blue(deadline - 3 * DAY),
      remind(deadline - DAY),
      escalated(1, township.unitId, deadline),
      red(deadline),
      cleared(now),
    ]);
  });

  it('given a cleared item that was late, when a look-back reopens it: the clock restarts (sign again, remind, escalate) and the old lateness stays', async () => {
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem('p-reopen', deadline);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'p-reopen' }, cadre, h.iso(h.t0 + HOUR));
    await h.until('p-reopen', (v) => v.acknowledged);
    await h.sleep(31 * DAY);
    await h.until('p-reopen', (v) => v.level === 1);
    const clearedAt = await h.now();
    await runCommand(
      h.world.store,
      { type: 'submitRectification', problemId: 'p-reopen', summary: '已完成整改', evidence: [] },
      cadre,
      h.iso(clearedAt),
    );
    await runCommand(h.world.store, { type: 'clearProblem', problemId: 'p-reopen' }, supervisor, h.iso(clearedAt));
    await h.completed('p-reopen');
    await h.sleep(9 * DAY);

    const reopenedAt = await h.now();
    const newDeadline = reopenedAt + 10 * DAY;
    await runCommand(
      h.world.store,
      { type: 'reopenProblem', problemId: 'p-reopen', reason: '回头看发现屋顶仍漏雨', deadline: h.iso(newDeadline) },
      inspector,
      h.iso(reopenedAt),
    );
    const view = await h.until('p-reopen', (v) => v.status === 'open' && v.deadline === h.iso(newDeadline));
    expect(view.lateness).toEqual([
      {
        cycleId: expect.any(String),
        deadline: h.iso(deadline),
        level: 1,
        overdueMs: clearedAt - deadline,
        endedBy: 'ProblemCleared',
      },
    ]);
    await h.sleep(20 * DAY);

    expect(clockRecords(await readProblem(h.world.store, 'p-reopen'))).toEqual([
      ...blue(deadline - 3 * DAY),
      remind(deadline - DAY),
      escalated(1, township.unitId, deadline),
      red(deadline),
      cleared(clearedAt),
      // After the reopening: the unit must sign again, and the ladder starts over from the first level.
      { type: 'ReminderIssued', data: { kind: 'acknowledge', level: 0, recipients: [village.unitId] }, at: reopenedAt + 2 * DAY },
      {
        type: 'WarningColourChanged',
        data: { colour: 'yellow', reason: 'not acknowledged within the policy window' },
        at: reopenedAt + 2 * DAY,
      },
      remind(newDeadline - 3 * DAY),
      remind(newDeadline - DAY),
      escalated(1, township.unitId, newDeadline),
      red(newDeadline),
      escalated(2, county.unitId, newDeadline + 3 * DAY),
      escalated(3, prefecture.unitId, newDeadline + 6 * DAY),
    ]);
    // The restarted clock (rebuilt from the stream by a fresh run) records under the reopening's request.
    const history = await readProblem(h.world.store, 'p-reopen');
    const reopened = history.findIndex((e) => e.type === 'ProblemReopened');
    const found = history[0];
    const byClock = (from: number, to: number) =>
      history.slice(from, to).filter((e) => e.metadata.actor.role === 'system').map((e) => e.metadata.correlationId);
    expect(new Set(byClock(0, reopened))).toEqual(new Set([found?.metadata.correlationId]));
    expect(new Set(byClock(reopened, history.length))).toEqual(new Set([history[reopened]?.metadata.correlationId]));
    await h.recordHistory('p-reopen', 'reopened');
  });
});
