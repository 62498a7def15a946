import { describe, expect, it } from 'vitest';
import { fold } from '../../../events/decider.js';
import type { Actor } from '../../../events/envelope.js';
import { StepNotDue } from '../../../events/errors.js';
import {
  DEFAULT_POLICY,
  escalationLadder,
  isReadyToClear,
  latenessAt,
  latenessOf,
  responsibleClockOf,
  type OpenProblem,
  type ProblemCommand,
  problemDecider,
  type ProblemEvent,
  problemStreamId,
  type ProblemState,
} from '../../../events/problem/index.js';
import {
  actors,
  ctx,
  evidence,
  given,
  hierarchy,
  NOW,
  PREFECTURE,
  QIBIE,
  TACHENG,
  TUOZHI,
  WEIXI,
  YONGCHUN,
} from '../gwt.js';

const problemId = 'P-2020-0001';
/** Keeps literal command types without making arrays readonly. */
const cmd = <T extends ProblemCommand>(command: T) => command;
const DEADLINE = '2020-06-30T23:59:59.999+08:00';
const LATER = '2020-05-10T10:00:00.000+08:00';

const find: ProblemCommand = {
  type: 'findProblem',
  problemId,
  targetUnitId: QIBIE,
  responsibleUnitId: TACHENG,
  category: 'housing',
  source: 'inspection',
  description: '启别村3户农户住房安全未达标，需限期整改',
  severity: 'medium',
  deadline: '2020-06-30',
};

const found: ProblemEvent = {
  type: 'ProblemFound',
  data: {
    problemId,
    targetUnitId: QIBIE,
    responsibleUnitId: TACHENG,
    category: 'housing',
    source: 'inspection',
    description: '启别村3户农户住房安全未达标，需限期整改',
    severity: 'medium',
    deadline: DEADLINE,
    policy: DEFAULT_POLICY,
  },
};
const ref = (a: Actor) => ({ userId: a.userId, unitId: a.unitId });
const acknowledged: ProblemEvent = { type: 'ProblemAcknowledged', data: { acknowledgedBy: ref(actors.tachengCadre) } };
const assigned = (measureId: string, assigneeUnitId = QIBIE): ProblemEvent => ({
  type: 'MeasureAssigned',
  data: { measureId, description: '危房改造', assigneeUnitId, deadline: '2020-06-15T23:59:59.999+08:00' },
});
const completed = (measureId: string): ProblemEvent => ({
  type: 'MeasureCompleted',
  data: { measureId, evidence: [evidence(1)] },
});
const submitted = (by: Actor = actors.tachengCadre, submittedAt = NOW): ProblemEvent => ({
  type: 'RectificationSubmitted',
  data: { summary: '3户危房已完成改造并通过验收', evidence: [evidence(2)], submittedBy: ref(by), submittedAt },
});
const rejected: ProblemEvent = {
  type: 'RectificationRejected',
  data: { reason: '现场核查发现1户未完工', rejectedBy: ref(actors.weixiSupervisor) },
};
const cleared: ProblemEvent = {
  type: 'ProblemCleared',
  data: { verifiedBy: ref(actors.weixiSupervisor), clearedAt: LATER },
};

/** A problem that is ready to be cleared: one measure done, rectification submitted. */
const readyToClear = [found, acknowledged, assigned('M1'), completed('M1'), submitted()];

const stateOf = (events: ProblemEvent[]) => fold(problemDecider, events) as OpenProblem;

describe('problem stream', () => {
  it('names its stream problem-<id>', () => {
    expect(problemStreamId(problemId)).toBe('problem-P-2020-0001');
  });

  describe('finding a problem', () => {
    it('freezes the policy and reads a bare date as the end of that day in Asia/Shanghai', () => {
      given(problemDecider).when(find, ctx(actors.weixiSupervisor)).then([found]);
    });

    it('freezes the policy named in the command, and uses its time zone for the deadline', () => {
      const policy = { ...DEFAULT_POLICY, version: 7, timeZone: 'UTC' };
      const [event] = given(problemDecider).when({ ...find, policy }, ctx(actors.weixiSupervisor)).run();
      expect(event?.data).toMatchObject({ policy, deadline: '2020-06-30T23:59:59.999+00:00' });
    });

    it('lets an inspector find problems in their subtree (including their own unit)', () => {
      given(problemDecider).when(find, ctx(actors.tachengInspector)).then([found]);
    });

    it.each([
      ['a duplicate', [found], find, actors.weixiSupervisor, 'conflict', 'problem.find.duplicate'],
      ['an unknown unit', [], { ...find, targetUnitId: 'nowhere' }, actors.weixiSupervisor, 'not_found', 'problem.find.unknown_unit'],
      ['unrelated units', [], { ...find, targetUnitId: TUOZHI }, actors.weixiSupervisor, 'validation', 'problem.find.unrelated_units'],
      ['a deadline in the past', [], { ...find, deadline: '2020-04-30' }, actors.weixiSupervisor, 'validation', 'problem.find.deadline_passed'],
      ['a malformed deadline', [], { ...find, deadline: '30 June' }, actors.weixiSupervisor, 'validation', 'time.deadline'],
      ['a supervisor of the responsible unit itself', [], find, actors.tachengSupervisor, 'forbidden', 'access.scope'],
      ['a supervisor of another county', [], find, actors.deqinSupervisor, 'forbidden', 'access.scope'],
      ['a cadre', [], find, actors.weixiCadre, 'forbidden', 'access.role'],
      ['an over-long description', [], { ...find, description: '问'.repeat(4001) }, actors.weixiSupervisor, 'validation', 'event.encode'],
    ] as const)('refuses %s', (_name, history, command, actor, code, rule) => {
      given(problemDecider, [...history]).when(command, ctx(actor)).thenRefused(code, rule);
    });

    it('refuses a command addressed to another problem', () => {
      given(problemDecider, [found])
        .when({ type: 'acknowledgeProblem', problemId: 'P-other' }, ctx(actors.tachengCadre))
        .thenRefused('validation', 'problem.stream_mismatch');
    });

    it('refuses any other command on a problem never found', () => {
      given(problemDecider)
        .when({ type: 'acknowledgeProblem', problemId }, ctx(actors.tachengCadre))
        .thenRefused('not_found', 'problem.not_found');
    });
  });

  describe('finding a problem recorded after it was found (an imported list)', () => {
    const JULY = '2020-07-05T10:00:00.000+08:00';
    const foundInApril = { ...find, foundAt: '2020-04-20' };
    const historic: ProblemEvent = { ...found, data: { ...found.data, foundAt: '2020-04-20T00:00:00.000+08:00' } } as ProblemEvent;

    it('keeps the day it was found, and is not red while its deadline is still ahead', () => {
      given(problemDecider).when(foundInApril, ctx(actors.weixiSupervisor)).then([historic]);
    });

    it('arrives red when its deadline passed before it was recorded: never on time', () => {
      const { state } = given(problemDecider)
        .when(foundInApril, ctx(actors.weixiSupervisor, JULY))
        .then([historic, { type: 'WarningColourChanged', data: { colour: 'red', reason: 'deadline passed before the problem was recorded' } }]);
      const p = state as OpenProblem;
      expect({ colour: p.colour, level: p.escalationLevel, reminders: p.remindersIssued }).toEqual({ colour: 'red', level: 0, reminders: 0 });
      expect(latenessOf(responsibleClockOf(p), JULY)).toMatchObject({ overdue: true, daysOverdue: 5 });
    });

    it.each([
      ['a deadline not after the day it was found', { ...find, foundAt: '2020-07-01' }, 'problem.find.deadline_passed'],
      ['a found day after now', { ...find, deadline: '2020-08-30', foundAt: '2020-07-06' }, 'problem.find.found_in_future'],
      ['a past deadline without the day it was found', find, 'problem.find.deadline_passed'],
    ] as const)('refuses %s', (_name, command, rule) => {
      given(problemDecider).when(command, ctx(actors.weixiSupervisor, JULY)).thenRefused('validation', rule);
    });
  });

  describe('acknowledging', () => {
    it('is done once by the responsible unit (or above)', () => {
      given(problemDecider, [found])
        .when({ type: 'acknowledgeProblem', problemId }, ctx(actors.tachengCadre))
        .then([acknowledged]);
      expect(stateOf([found, acknowledged]).status).toBe('acknowledged');
    });

    it('is refused twice, on a cleared problem, and outside the cadre\'s subtree', () => {
      const ack = { type: 'acknowledgeProblem', problemId } as const;
      given(problemDecider, [found, acknowledged]).when(ack, ctx(actors.tachengCadre)).thenRefused('conflict', 'problem.acknowledge.already');
      given(problemDecider, [...readyToClear, cleared]).when(ack, ctx(actors.tachengCadre)).thenRefused('conflict', 'problem.acknowledge.cleared');
      given(problemDecider, [found]).when(ack, ctx(actors.qibieCadre)).thenRefused('forbidden', 'access.scope');
      given(problemDecider, [found]).when(ack, ctx(actors.yongchunCadre)).thenRefused('forbidden', 'access.scope');
    });
  });

  describe('measures', () => {
    const assign = {
      type: 'assignMeasure',
      problemId,
      measureId: 'M1',
      description: '危房改造',
      assigneeUnitId: QIBIE,
      deadline: '2020-06-15',
    } as const;

    it('are assigned with a resolved deadline and counted', () => {
      given(problemDecider, [found]).when(assign, ctx(actors.tachengCadre)).then([assigned('M1')]);
      const s = stateOf([found, assigned('M1'), assigned('M2'), completed('M1')]);
      expect({ done: s.measuresDone, total: s.measuresTotal }).toEqual({ done: 1, total: 2 });
    });

    it.each([
      ['on a cleared problem', [...readyToClear, cleared], assign, 'conflict', 'problem.measure.cleared'],
      ['with a repeated id', [found, assigned('M1')], assign, 'conflict', 'problem.measure.duplicate'],
      ['to an unknown unit', [found], { ...assign, assigneeUnitId: 'nowhere' }, 'not_found', 'problem.measure.unknown_assignee'],
      ['to a unit outside the cadre\'s subtree', [found], { ...assign, assigneeUnitId: YONGCHUN }, 'forbidden', 'access.scope'],
      ['with a past deadline', [found], { ...assign, deadline: '2020-04-01' }, 'validation', 'problem.measure.deadline_passed'],
    ] as const)('are refused %s', (_name, history, command, code, rule) => {
      given(problemDecider, [...history]).when(command, ctx(actors.tachengCadre)).thenRefused(code, rule);
    });

    it('are completed once, with evidence, by the assignee or the responsible unit', () => {
      const complete = cmd({ type: 'completeMeasure', problemId, measureId: 'M1', evidence: [evidence(1)] });
      given(problemDecider, [found, assigned('M1')]).when(complete, ctx(actors.qibieCadre)).then([completed('M1')]);
      given(problemDecider, [found, assigned('M1')]).when(complete, ctx(actors.tachengCadre)).then([completed('M1')]);
      given(problemDecider, [found, assigned('M1')]).when(complete, ctx(actors.yongchunCadre)).thenRefused('forbidden', 'access.scope');
      given(problemDecider, [found, assigned('M1')])
        .when({ ...complete, measureId: 'M9' }, ctx(actors.tachengCadre))
        .thenRefused('not_found', 'problem.complete.unknown_measure');
      given(problemDecider, [found, assigned('M1'), completed('M1')])
        .when(complete, ctx(actors.tachengCadre))
        .thenRefused('conflict', 'problem.complete.already_completed');
    });
  });

  describe('rectification', () => {
    const submit = cmd({ type: 'submitRectification', problemId, summary: '3户危房已完成改造并通过验收', evidence: [evidence(2)] });
    const reject = { type: 'rejectRectification', problemId, reason: '现场核查发现1户未完工' } as const;

    it('is submitted after acknowledging and records the submitter', () => {
      given(problemDecider, [found, acknowledged]).when(submit, ctx(actors.tachengCadre)).then([submitted()]);
      expect(stateOf([found, acknowledged, submitted()])).toMatchObject({
        status: 'submitted',
        submittedBy: ref(actors.tachengCadre),
      });
    });

    it('is refused before acknowledging, while one is pending, and on a cleared problem', () => {
      given(problemDecider, [found]).when(submit, ctx(actors.tachengCadre)).thenRefused('conflict', 'problem.submit.not_acknowledged');
      given(problemDecider, [found, acknowledged, submitted()]).when(submit, ctx(actors.tachengCadre)).thenRefused('conflict', 'problem.submit.pending');
      given(problemDecider, [...readyToClear, cleared]).when(submit, ctx(actors.tachengCadre)).thenRefused('conflict', 'problem.submit.cleared');
    });

    it('is rejected by a unit above with a reason, and may then be submitted again', () => {
      given(problemDecider, [found, acknowledged, submitted()]).when(reject, ctx(actors.weixiSupervisor)).then([rejected]);
      const s = stateOf([found, acknowledged, submitted(), rejected]);
      expect(s.status).toBe('acknowledged');
      expect(s.rectification).toMatchObject({ status: 'rejected', rejectionReason: '现场核查发现1户未完工' });
      given(problemDecider, [found, acknowledged, submitted(), rejected]).when(submit, ctx(actors.tachengCadre)).then([submitted()]);
    });

    it.each([
      ['with nothing submitted', [found, acknowledged], reject, actors.weixiSupervisor, 'conflict', 'problem.reject.nothing_submitted'],
      ['twice', [found, acknowledged, submitted(), rejected], reject, actors.weixiSupervisor, 'conflict', 'problem.reject.nothing_submitted'],
      ['without a reason', [found, acknowledged, submitted()], { ...reject, reason: '  ' }, actors.weixiSupervisor, 'validation', 'problem.reject.reason_required'],
      ['by the responsible unit', [found, acknowledged, submitted()], reject, actors.tachengSupervisor, 'forbidden', 'problem.reject.own_unit'],
      ['by a unit not above', [found, acknowledged, submitted()], reject, actors.deqinSupervisor, 'forbidden', 'problem.reject.not_above'],
      ['by a cadre above', [found, acknowledged, submitted()], reject, actors.weixiCadre, 'forbidden', 'access.role'],
    ] as const)('rejection is refused %s', (_name, history, command, actor, code, rule) => {
      given(problemDecider, [...history]).when(command, ctx(actor)).thenRefused(code, rule);
    });
  });

  describe('clearing (销号)', () => {
    const clear = { type: 'clearProblem', problemId } as const;

    it('is done by a unit strictly above when every measure is done and a rectification stands', () => {
      expect(isReadyToClear(stateOf(readyToClear))).toBe(true);
      given(problemDecider, readyToClear).when(clear, ctx(actors.weixiSupervisor, LATER)).then([cleared]);
      expect(stateOf([...readyToClear, cleared])).toMatchObject({
        status: 'cleared',
        clearedBy: ref(actors.weixiSupervisor),
        clearedAt: LATER,
        lateness: [{ deadline: DEADLINE, endedBy: 'cleared', lateByMs: 0, late: false, escalationLevel: 0 }],
      });
      // Higher up than the parent is also strictly above.
      given(problemDecider, readyToClear).when(clear, ctx(actors.prefectureSupervisor, LATER)).run();
    });

    it.each([
      ['with open measures', [found, acknowledged, assigned('M1'), assigned('M2'), completed('M1'), submitted()], actors.weixiSupervisor, 'conflict', 'problem.clear.open_measures'],
      ['with no rectification submitted', [found, acknowledged, assigned('M1'), completed('M1')], actors.weixiSupervisor, 'conflict', 'problem.clear.no_rectification'],
      ['when the rectification was rejected since', [...readyToClear, rejected], actors.weixiSupervisor, 'conflict', 'problem.clear.no_rectification'],
      ['twice', [...readyToClear, cleared], actors.weixiSupervisor, 'conflict', 'problem.clear.already_cleared'],
      ['by the responsible unit', readyToClear, actors.tachengSupervisor, 'forbidden', 'problem.clear.own_unit'],
      ['by the user who submitted, even from above', [found, acknowledged, submitted(actors.weixiSupervisor)], actors.weixiSupervisor, 'forbidden', 'problem.clear.own_submission'],
      ['by a unit not strictly above (below)', readyToClear, actors.qibieCadre, 'forbidden', 'problem.clear.not_above'],
      ['by a unit not strictly above (elsewhere)', readyToClear, actors.deqinSupervisor, 'forbidden', 'problem.clear.not_above'],
      ['by a cadre above', readyToClear, actors.weixiCadre, 'forbidden', 'access.role'],
      ['by an inspector above', readyToClear, actors.prefectureInspector, 'forbidden', 'access.role'],
    ] as const)('is refused %s', (_name, history, actor, code, rule) => {
      given(problemDecider, [...history]).when(clear, ctx(actor, LATER)).thenRefused(code, rule);
    });

    it('after a rejection, a new submission makes it clearable again', () => {
      given(problemDecider, [...readyToClear, rejected, submitted()]).when(clear, ctx(actors.weixiSupervisor2, LATER)).then([cleared].map((e) => ({ ...e, data: { ...e.data, verifiedBy: ref(actors.weixiSupervisor2) } })) as ProblemEvent[]);
    });
  });

  describe('extending the deadline', () => {
    const extend = { type: 'extendDeadline', problemId, deadline: '2020-07-15', reason: '雨季施工受阻' } as const;
    const extended: ProblemEvent = {
      type: 'DeadlineExtended',
      data: {
        deadline: '2020-07-15T23:59:59.999+08:00',
        previousDeadline: DEADLINE,
        reason: '雨季施工受阻',
        approvedBy: ref(actors.weixiSupervisor),
      },
    };

    it('moves forward, with a reason, by a unit above, and starts a new clock', () => {
      given(problemDecider, [found]).when(extend, ctx(actors.weixiSupervisor)).then([extended]);
      const escalated: ProblemEvent = { type: 'ProblemEscalated', data: { level: 1, toUnitId: WEIXI, reason: '逾期未整改', colour: 'red' } };
      const s = stateOf([found, escalated, extended]);
      expect(s).toMatchObject({ deadline: '2020-07-15T23:59:59.999+08:00', colour: 'none', escalationLevel: 0, clockStartedBy: 'extended' });
      expect(s.lateness).toEqual([
        { deadline: DEADLINE, endedBy: 'extended', escalationLevel: 1, colour: 'red', clearedAt: null, lateByMs: null, late: true },
      ]);
    });

    it.each([
      ['backwards', [found], { ...extend, deadline: '2020-06-01' }, actors.weixiSupervisor, 'conflict', 'problem.extend.not_forward'],
      ['to the same deadline', [found], { ...extend, deadline: '2020-06-30' }, actors.weixiSupervisor, 'conflict', 'problem.extend.not_forward'],
      ['without a reason', [found], { ...extend, reason: '' }, actors.weixiSupervisor, 'validation', 'problem.extend.reason_required'],
      ['by the responsible unit', [found], extend, actors.tachengSupervisor, 'forbidden', 'problem.extend.own_unit'],
      ['by a unit not above', [found], extend, actors.deqinSupervisor, 'forbidden', 'problem.extend.not_above'],
      ['by a cadre above', [found], extend, actors.weixiCadre, 'forbidden', 'access.role'],
      ['on a cleared problem', [...readyToClear, cleared], extend, actors.weixiSupervisor, 'conflict', 'problem.extend.cleared'],
    ] as const)('is refused %s', (_name, history, command, actor, code, rule) => {
      given(problemDecider, [...history]).when(command, ctx(actor)).thenRefused(code, rule);
    });
  });

  describe('reopening by look-back (回头看)', () => {
    const reopen = { type: 'reopenProblem', problemId, reason: '回头看发现1户住房仍有安全隐患', deadline: '2020-08-31' } as const;
    const LOOK_BACK = '2020-07-20T10:00:00.000+08:00';
    const lateClear: ProblemEvent = { type: 'ProblemCleared', data: { verifiedBy: ref(actors.weixiSupervisor), clearedAt: '2020-07-02T00:00:00.000+08:00' } };
    const reopened: ProblemEvent = {
      type: 'ProblemReopened',
      data: { reason: '回头看发现1户住房仍有安全隐患', deadline: '2020-08-31T23:59:59.999+08:00', reopenedBy: ref(actors.prefectureInspector) },
    };

    it('reopens a cleared item with a new deadline and a fresh clock, keeping the old lateness', () => {
      const red: ProblemEvent = { type: 'ProblemEscalated', data: { level: 1, toUnitId: WEIXI, reason: '逾期', colour: 'red' } };
      // Submitted late (2 July): the lateness on record runs up to the submission.
      const history = [found, acknowledged, assigned('M1'), completed('M1'), red, submitted(actors.tachengCadre, '2020-07-02T00:00:00.000+08:00'), lateClear];
      given(problemDecider, history)
        .when(reopen, ctx(actors.prefectureInspector, LOOK_BACK))
        .then([reopened, { type: 'WarningColourChanged', data: { colour: 'none', reason: 'reopened with a new clock' } }]);
      const s = stateOf([...history, reopened]);
      expect(s).toMatchObject({
        status: 'open',
        acknowledged: false,
        deadline: '2020-08-31T23:59:59.999+08:00',
        clockStartedBy: 'reopened',
        colour: 'none',
        escalationLevel: 0,
        rectification: null,
        reopenCount: 1,
        measuresDone: 1,
        measuresTotal: 1,
      });
      expect(s.lateness).toEqual([
        {
          deadline: DEADLINE,
          endedBy: 'cleared',
          escalationLevel: 1,
          colour: 'red',
          clearedAt: '2020-07-02T00:00:00.000+08:00',
          lateByMs: 24 * 3600 * 1000 + 1, // 2 July 00:00 is one day and 1 ms after the end of 30 June
          late: true,
        },
      ]);
      // New measures are accepted again, and it must be rectified and verified again before clearing.
      given(problemDecider, [...history, reopened])
        .when({ type: 'assignMeasure', problemId, measureId: 'M2', description: '加固', assigneeUnitId: QIBIE, deadline: '2020-08-15' }, ctx(actors.tachengCadre, LOOK_BACK))
        .run();
      given(problemDecider, [...history, reopened])
        .when({ type: 'clearProblem', problemId }, ctx(actors.weixiSupervisor, LOOK_BACK))
        .thenRefused('conflict', 'problem.clear.no_rectification');
    });

    it('may be done by a supervisor strictly above', () => {
      given(problemDecider, [...readyToClear, cleared]).when(reopen, ctx(actors.weixiSupervisor, LOOK_BACK)).run();
    });

    it.each([
      ['an open item', [found], reopen, actors.prefectureInspector, 'conflict', 'problem.reopen.not_cleared'],
      ['without a reason', [...readyToClear, cleared], { ...reopen, reason: ' ' }, actors.prefectureInspector, 'validation', 'problem.reopen.reason_required'],
      ['with a past deadline', [...readyToClear, cleared], { ...reopen, deadline: '2020-07-01' }, actors.prefectureInspector, 'validation', 'problem.reopen.deadline_passed'],
      ['by a cadre', [...readyToClear, cleared], reopen, actors.weixiCadre, 'forbidden', 'access.role'],
      ['by an inspector elsewhere', [...readyToClear, cleared], reopen, { ...actors.prefectureInspector, unitId: YONGCHUN }, 'forbidden', 'access.scope'],
    ] as const)('refuses to reopen %s', (_name, history, command, actor, code, rule) => {
      given(problemDecider, [...history]).when(command, ctx(actor, LOOK_BACK)).thenRefused(code, rule);
    });
  });

  describe("the clock's steps: recorded only while the stream still makes them due", () => {
    const AFTER = '2020-07-01T00:00:00.000+08:00';
    const at = (instant: string) => ctx(actors.system, instant);
    const escalate = (level: number, deadline = DEADLINE) => cmd({ type: 'escalate', problemId, deadline, level });
    const escalated = (level: number, toUnitId: string): ProblemEvent => ({
      type: 'ProblemEscalated',
      data: {
        level,
        toUnitId,
        reason: level === 1 ? `deadline ${DEADLINE} passed without clearing` : `still open ${level - 1} escalation interval(s) after the deadline ${DEADLINE}`,
        colour: 'red',
      },
    });
    const colour = (c: 'none' | 'blue' | 'yellow' | 'red', reason: string): ProblemEvent => ({ type: 'WarningColourChanged', data: { colour: c, reason } });
    const red = colour('red', 'deadline passed');
    const reminded = (kind: 'acknowledge' | 'deadline_approaching' | 'overdue' | 'verification', level: number, recipients: string[]): ProblemEvent => ({
      type: 'ReminderIssued',
      data: { kind, level, recipients },
    });
    const extended: ProblemEvent = {
      type: 'DeadlineExtended',
      data: { deadline: '2020-07-15T23:59:59.999+08:00', previousDeadline: DEADLINE, reason: '延期', approvedBy: ref(actors.weixiSupervisor) },
    };
    const overdueFound = (responsibleUnitId: string, topLevel: 'county' | 'prefecture'): ProblemEvent =>
      ({ ...found, data: { ...(found.data as object), responsibleUnitId, policy: { ...DEFAULT_POLICY, topLevel } } }) as ProblemEvent;
    const notDueRule = (history: ProblemEvent[], command: ProblemCommand, instant: string) => {
      try {
        problemDecider.decide(command, stateOf(history), at(instant));
      } catch (error) {
        expect(error).toBeInstanceOf(StepNotDue);
        return (error as StepNotDue).rule;
      }
      return 'recorded';
    };

    it('escalates up the ladder one level at a time; turning red is a WarningColourChanged of its own (observation 7)', () => {
      given(problemDecider, [found, acknowledged]).when(escalate(1), at(AFTER)).then([escalated(1, WEIXI), red]);
      given(problemDecider, [found, acknowledged, escalated(1, WEIXI), red])
        .when(escalate(2), at('2020-07-04T00:00:00.000+08:00'))
        .then([escalated(2, PREFECTURE)]);
      expect(stateOf([found, escalated(1, WEIXI), red, escalated(2, PREFECTURE)])).toMatchObject({ escalationLevel: 2, escalatedTo: PREFECTURE, colour: 'red' });
    });

    it('writes nothing for a step the stream no longer justifies: "not due", with the rule (observation 2)', () => {
      const ack = cmd({ type: 'remindToAcknowledge', problemId, since: NOW });
      const twoDaysOn = '2020-05-03T09:00:00.000+08:00';
      expect({
        extendedMeanwhile: notDueRule([found, extended], escalate(1), AFTER),
        acknowledgedMeanwhile: notDueRule([found, acknowledged], ack, twoDaysOn),
        remindedAlready: notDueRule([found, reminded('acknowledge', 0, [TACHENG])], ack, twoDaysOn),
        clearedMeanwhile: notDueRule([...readyToClear, cleared], escalate(1), AFTER),
        notYet: notDueRule([found], escalate(1), NOW),
        notTheNextLevel: notDueRule([found], escalate(2), AFTER),
        escalatedAlready: notDueRule([found, escalated(1, WEIXI)], escalate(1), AFTER),
        blueAfterDeadline: notDueRule([found], cmd({ type: 'remindDeadline', problemId, deadline: DEADLINE, offset: 'P1D' }), AFTER),
        overdueAtAnotherLevel: notDueRule([found, escalated(1, WEIXI)], cmd({ type: 'remindOverdue', problemId, deadline: DEADLINE, level: 0 }), AFTER),
        measureDone: notDueRule([found, assigned('M1'), completed('M1')], cmd({ type: 'remindMeasure', problemId, measureId: 'M1', phase: 'overdue' }), AFTER),
      }).toEqual({
        extendedMeanwhile: 'problem.step.deadline_moved',
        acknowledgedMeanwhile: 'problem.step.acknowledged',
        remindedAlready: 'problem.step.already_reminded',
        clearedMeanwhile: 'problem.step.cleared',
        notYet: 'problem.step.early',
        notTheNextLevel: 'problem.step.level',
        escalatedAlready: 'problem.step.level',
        blueAfterDeadline: 'problem.step.deadline_passed',
        overdueAtAnotherLevel: 'problem.step.level',
        measureDone: 'problem.step.measure_completed',
      });
      // After the extension the new deadline's ladder starts at level 1.
      given(problemDecider, [found, escalated(1, WEIXI), red, extended, colour('none', 'deadline extended: a new clock')])
        .when(escalate(1, '2020-07-15T23:59:59.999+08:00'), at('2020-07-16T00:00:00.000+08:00'))
        .then([{ ...escalated(1, WEIXI), data: { ...(escalated(1, WEIXI).data as object), reason: 'deadline 2020-07-15T23:59:59.999+08:00 passed without clearing' } } as ProblemEvent, red]);
    });

    it('never escalates or reminds against a rectification submitted on time and awaiting verification (observation 1)', () => {
      const onTime = [found, acknowledged, submitted(actors.tachengCadre, '2020-06-20T10:00:00.000+08:00')];
      expect([
        notDueRule(onTime, escalate(1), AFTER),
        notDueRule(onTime, cmd({ type: 'remindOverdue', problemId, deadline: DEADLINE, level: 0 }), AFTER),
        notDueRule(onTime, cmd({ type: 'remindDeadline', problemId, deadline: DEADLINE, offset: 'P1D' }), '2020-06-30T00:00:00.000+08:00'),
      ]).toEqual(['problem.step.awaiting_verification', 'problem.step.awaiting_verification', 'problem.step.awaiting_verification']);
      expect(latenessOf(responsibleClockOf(stateOf(onTime)), AFTER)).toEqual({ overdue: false, daysOverdue: 0, overdueSince: null });
    });

    it('never goes past the policy top level, also when the responsible unit sits at or above it (observation 3)', () => {
      expect(escalationLadder(hierarchy, QIBIE, 'prefecture')).toEqual([TACHENG, WEIXI, PREFECTURE]);
      expect(escalationLadder(hierarchy, QIBIE, 'township')).toEqual([TACHENG]);
      expect(escalationLadder(hierarchy, WEIXI, 'county')).toEqual([]);
      expect(escalationLadder(hierarchy, TACHENG, 'county')).toEqual([WEIXI]);
      // A county responsible under a county-top policy: red at the deadline, nobody escalated to.
      given(problemDecider, [overdueFound(WEIXI, 'county')]).when(escalate(1), at(AFTER)).then([red]);
      expect(notDueRule([overdueFound(WEIXI, 'county'), red], escalate(1), AFTER)).toBe('problem.step.beyond_top');
      expect(notDueRule([overdueFound(TACHENG, 'county'), escalated(1, WEIXI), red], escalate(2), '2020-07-04T00:00:00.000+08:00')).toBe(
        'problem.step.beyond_top',
      );
    });

    it('reminds to acknowledge once the window lapsed, turning yellow; blue before the deadline; overdue to the unit escalated to', () => {
      given(problemDecider, [found])
        .when(cmd({ type: 'remindToAcknowledge', problemId, since: NOW }), at('2020-05-03T09:00:00.000+08:00'))
        .then([reminded('acknowledge', 0, [TACHENG]), colour('yellow', 'not acknowledged within the policy window')]);
      given(problemDecider, [found, acknowledged])
        .when(cmd({ type: 'remindDeadline', problemId, deadline: DEADLINE, offset: 'P3D' }), at('2020-06-27T23:59:59.999+08:00'))
        .then([reminded('deadline_approaching', 0, [TACHENG]), colour('blue', 'deadline approaching')]);
      given(problemDecider, [found, acknowledged, colour('blue', 'deadline approaching')])
        .when(cmd({ type: 'remindDeadline', problemId, deadline: DEADLINE, offset: 'P1D' }), at('2020-06-29T23:59:59.999+08:00'))
        .then([reminded('deadline_approaching', 0, [TACHENG])]);
      given(problemDecider, [found, escalated(1, WEIXI), red])
        .when(cmd({ type: 'remindOverdue', problemId, deadline: DEADLINE, level: 1 }), at('2020-07-02T00:00:00.000+08:00'))
        .then([reminded('overdue', 1, [WEIXI, TACHENG])]);
      given(problemDecider, [found])
        .when(cmd({ type: 'remindDeadline', problemId, deadline: DEADLINE, offset: 'P9D' }), at(AFTER))
        .thenRefused('validation', 'problem.step.unknown_offset');
      given(problemDecider, [found]).when(escalate(1), ctx(actors.weixiSupervisor, AFTER)).thenRefused('forbidden', 'access.role');
    });

    it('gives verification a clock of its own: the lapsed window reminds the verifier and escalates to its parent (rule 5)', () => {
      const submittedAt = '2020-06-20T10:00:00.000+08:00';
      const awaiting = [found, acknowledged, submitted(actors.tachengCadre, submittedAt)];
      const verify = cmd({ type: 'escalateVerification', problemId, submittedAt });
      const lapsed = '2020-06-25T10:00:00.000+08:00';
      const verificationEscalated: ProblemEvent = {
        type: 'ProblemEscalated',
        data: { level: 1, toUnitId: PREFECTURE, colour: 'yellow', stage: 'verification', reason: `not verified within P5D of the submission at ${submittedAt}` },
      };
      given(problemDecider, awaiting).when(verify, at(lapsed)).then([verificationEscalated, reminded('verification', 0, [WEIXI])]);
      // The responsible unit's ladder and colour are untouched.
      expect(stateOf([...awaiting, verificationEscalated])).toMatchObject({ escalationLevel: 0, colour: 'none', rectification: { escalatedTo: PREFECTURE } });
      expect({
        early: notDueRule(awaiting, verify, '2020-06-24T10:00:00.000+08:00'),
        twice: notDueRule([...awaiting, verificationEscalated], verify, lapsed),
        rejected: notDueRule([...awaiting, rejected], verify, lapsed),
        resubmitted: notDueRule([...awaiting, rejected, submitted(actors.tachengCadre, '2020-06-22T10:00:00.000+08:00')], verify, lapsed),
      }).toEqual({
        early: 'problem.step.early',
        twice: 'problem.step.already_escalated',
        rejected: 'problem.step.not_awaiting_verification',
        resubmitted: 'problem.step.resubmitted',
      });
    });

    it("restarts the responsible unit's clock on a rejection: past the deadline it turns red at once", () => {
      given(problemDecider, [found, acknowledged, submitted(actors.tachengCadre, '2020-06-20T10:00:00.000+08:00')])
        .when({ type: 'rejectRectification', problemId, reason: '现场核查发现1户未完工' }, ctx(actors.weixiSupervisor, AFTER))
        .then([rejected, colour('red', 'rectification rejected after the deadline')]);
    });

    it('takes the colour back to none as an event of its own when an extension or the clearing ends a red clock', () => {
      given(problemDecider, [found, escalated(1, WEIXI), red])
        .when({ type: 'extendDeadline', problemId, deadline: '2020-07-15', reason: '延期' }, ctx(actors.weixiSupervisor, AFTER))
        .then([{ ...extended, data: { ...(extended.data as object), reason: '延期' } } as ProblemEvent, colour('none', 'deadline extended: a new clock')]);
      given(problemDecider, [...readyToClear, escalated(1, WEIXI), red])
        .when({ type: 'clearProblem', problemId }, ctx(actors.weixiSupervisor, LATER))
        .then([cleared, colour('none', 'cleared')]);
    });
  });

  describe('lateness (observation 8)', () => {
    it('counts calendar days in the policy time zone: due 30 June, on 1 July it is 1 day overdue', () => {
      expect(latenessAt(DEADLINE, '2020-07-01T00:00:05.000+08:00', 'Asia/Shanghai')).toEqual({ overdue: true, daysOverdue: 1, overdueSince: DEADLINE });
      expect(latenessAt(DEADLINE, '2020-07-01T23:59:00.000+08:00', 'Asia/Shanghai').daysOverdue).toBe(1);
      expect(latenessAt(DEADLINE, '2020-07-03T08:00:00.000+08:00', 'Asia/Shanghai').daysOverdue).toBe(3);
      // Seconds after a deadline in the middle of a day: overdue, not yet a day late.
      expect(latenessAt('2020-06-30T10:00:00.000+08:00', '2020-06-30T10:00:05.000+08:00', 'Asia/Shanghai')).toEqual({
        overdue: true,
        daysOverdue: 0,
        overdueSince: '2020-06-30T10:00:00.000+08:00',
      });
      expect(latenessAt(DEADLINE, DEADLINE, 'Asia/Shanghai')).toEqual({ overdue: false, daysOverdue: 0, overdueSince: null });
    });

    it('is measured up to a submission awaiting verification, and is none once cleared', () => {
      const late = stateOf([found, acknowledged, submitted(actors.tachengCadre, '2020-07-02T10:00:00.000+08:00')]);
      expect(latenessOf(responsibleClockOf(late), '2020-07-20T10:00:00.000+08:00')).toMatchObject({ overdue: true, daysOverdue: 2 });
      expect(latenessOf(responsibleClockOf(stateOf([...readyToClear, cleared])), '2020-07-20T10:00:00.000+08:00').overdue).toBe(false);
    });
  });

  it('evolves a whole life deterministically and exposes what ledgers need', () => {
    const history = [...readyToClear, cleared];
    const s: ProblemState = fold(problemDecider, history);
    expect(s).toMatchObject({
      status: 'cleared',
      responsibleUnitId: TACHENG,
      targetUnitId: QIBIE,
      deadline: DEADLINE,
      colour: 'none',
      escalationLevel: 0,
      measuresDone: 1,
      measuresTotal: 1,
      submittedBy: ref(actors.tachengCadre),
      policy: DEFAULT_POLICY,
    });
    expect(fold(problemDecider, history)).toEqual(s);
    expect(NOW < LATER).toBe(true);
  });
});
