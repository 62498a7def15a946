import { expect, it } from 'vitest';
import { describeWithService } from '../setup/services.js';
import { useClockHarness } from './harness.js';
import { cadre, clockRecords, DAY, eventually, HOUR, readProblem, runCommand, supervisor, units } from './world.js';

const { township, county } = units;

/**
 * The clock blames only who is late. A step whose timer fires while the event that makes it moot is on
 * its way (appended, not yet delivered: the reactor is stopped) is decided on the stream as it is and
 * writes nothing; work submitted on time is never escalated against the responsible unit, and the
 * verifier's own window escalates to the verifier's parent.
 */
describeWithService('redis', 'the clock blames only who is late', (redisUrl) => {
  const h = useClockHarness(redisUrl);
  const types = async (problemId: string) => clockRecords(await readProblem(h.world.store, problemId));

  /** An item due in 30 days, acknowledged at once and submitted on day 20; returns when it was submitted. */
  async function submittedOnTime(problemId: string): Promise<number> {
    await h.findProblem(problemId, h.t0 + 30 * DAY);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId }, cadre, h.iso(h.t0 + HOUR));
    await h.until(problemId, (v) => v.acknowledged);
    await h.sleep(20 * DAY);
    const submittedAt = await h.now();
    await runCommand(h.world.store, { type: 'submitRectification', problemId, summary: '已完成整改', evidence: [] }, cadre, h.iso(submittedAt));
    await h.until(problemId, (v) => v.awaitingVerificationSince === h.iso(submittedAt));
    return submittedAt;
  }

  it('given an extension on its way when the escalation timer fires: no escalation for the old deadline, the ladder runs on the new one', async () => {
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem('b-extend', deadline);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'b-extend' }, cadre, h.iso(h.t0 + HOUR));
    await h.until('b-extend', (v) => v.acknowledged);
    await h.sleep(29 * DAY);
    await h.stopReactor();
    const extended = deadline + 10 * DAY;
    await runCommand(
      h.world.store,
      { type: 'extendDeadline', problemId: 'b-extend', deadline: h.iso(extended), reason: '道路中断' },
      supervisor,
      h.iso(await h.now()),
    );

    await h.sleep(2 * DAY);
    await h.until('b-extend', (v) => v.next?.step !== 'esc-1');
    expect((await types('b-extend')).filter((r) => r.type !== 'ReminderIssued')).toEqual([
      { type: 'WarningColourChanged', data: { colour: 'blue', reason: 'deadline approaching' }, at: deadline - 3 * DAY },
      { type: 'WarningColourChanged', data: { colour: 'none', reason: 'deadline extended: a new clock' }, at: expect.any(Number) },
    ]);

    await h.startReactor();
    await h.until('b-extend', (v) => v.deadline === h.iso(extended));
    await h.sleep(12 * DAY);
    const escalations = (await types('b-extend')).filter((r) => r.type === 'ProblemEscalated');
    expect(escalations.map((r) => r.at)).toEqual([extended, extended + 3 * DAY]);
  });

  it('given an acknowledgement on its way when the acknowledge window lapses: no reminder and no yellow', async () => {
    const t0 = await h.findProblem('b-ack', h.t0 + 30 * DAY);
    await h.until('b-ack', (v) => v.revision === 0);
    await h.stopReactor();
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'b-ack' }, cadre, h.iso(t0 + HOUR));

    await h.sleep(3 * DAY);
    await h.until('b-ack', (v) => v.next?.action !== 'acknowledge_reminder');
    expect(await types('b-ack')).toEqual([]);
    await h.startReactor();
    await h.until('b-ack', (v) => v.acknowledged);
    expect(await h.query('b-ack')).toMatchObject({ colour: 'none' });
  });

  it('given a rectification submitted before the deadline and not yet verified: never escalated, reminded or turned red against the responsible unit', async () => {
    await submittedOnTime('b-ontime');

    await h.sleep(40 * DAY);
    const records = await types('b-ontime');
    // What the clock wrote is the verifier's business only.
    expect(records.filter((r) => (r.data as { stage?: string }).stage !== 'verification' && (r.data as { kind?: string }).kind !== 'verification')).toEqual([]);
    expect(await h.query('b-ontime')).toMatchObject({ level: 0, colour: 'none', status: 'open' });
  });

  it("given a lapsed verification window: the verifier is reminded and it escalates to the verifier's parent; a rejection after the deadline turns red and escalates at once", async () => {
    const submittedAt = await submittedOnTime('b-verify');
    await h.sleep(11 * DAY);

    // The verifier is the township above the village; its parent, the county, is told.
    const lapsed = submittedAt + 5 * DAY;
    expect(await types('b-verify')).toEqual([
      {
        type: 'ProblemEscalated',
        data: { level: 1, toUnitId: county.unitId, colour: 'yellow', stage: 'verification', reason: expect.stringContaining('P5D') },
        at: lapsed,
      },
      { type: 'ReminderIssued', data: { kind: 'verification', level: 0, recipients: [township.unitId] }, at: lapsed },
    ]);
    await eventually(() => (h.world.notifications.some((n) => n.kind === 'escalation') ? true : undefined));
    expect(h.world.notifications.filter((n) => n.kind === 'escalation').map((n) => n.recipients)).toEqual([[county.unitId, township.unitId]]);

    // Rejected after the deadline: the responsible unit's clock runs again, already late.
    const rejectedAt = await h.now();
    await runCommand(h.world.store, { type: 'rejectRectification', problemId: 'b-verify', reason: '现场核查未完工' }, supervisor, h.iso(rejectedAt));
    await h.until('b-verify', (v) => v.awaitingVerificationSince === null && v.level >= 1);
    const after = (await types('b-verify')).slice(2);
    expect(after.slice(0, 2)).toEqual([
      { type: 'WarningColourChanged', data: { colour: 'red', reason: 'rectification rejected after the deadline' }, at: rejectedAt },
      { type: 'ProblemEscalated', data: { level: 1, toUnitId: township.unitId, colour: 'red', reason: expect.any(String) }, at: rejectedAt },
    ]);
    expect(after.some((r) => r.type === 'ReminderIssued' && (r.data as { kind: string }).kind === 'deadline_approaching')).toBe(false);
  });
});
