import { describe, expect, it } from 'vitest';
import { fold } from '../../../events/decider.js';
import type { Actor } from '../../../events/envelope.js';
import {
  DEFAULT_POLICY,
  escalationLadder,
  isReadyToClear,
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
const submitted = (by: Actor = actors.tachengCadre): ProblemEvent => ({
  type: 'RectificationSubmitted',
  data: { summary: '3户危房已完成改造并通过验收', evidence: [evidence(2)], submittedBy: ref(by) },
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
      const history = [...readyToClear, red, lateClear];
      given(problemDecider, history).when(reopen, ctx(actors.prefectureInspector, LOOK_BACK)).then([reopened]);
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

  describe('workflow commands: reminders, colour, escalation', () => {
    const escalate = (level: number, toUnitId: string, colour: 'blue' | 'yellow' | 'red' = 'red') =>
      ({ type: 'escalate', problemId, level, toUnitId, reason: '逾期未销号', colour }) as const;
    const escalated = (level: number, toUnitId: string): ProblemEvent => ({
      type: 'ProblemEscalated',
      data: { level, toUnitId, reason: '逾期未销号', colour: 'red' },
    });
    const system = ctx(actors.system, '2020-07-01T00:00:00.000+08:00');

    it('issues reminders on open items only, by the system', () => {
      const remind = cmd({ type: 'issueReminder', problemId, kind: 'acknowledge', level: 0, recipients: [TACHENG] });
      given(problemDecider, [found]).when(remind, system).then([{ type: 'ReminderIssued', data: { kind: 'acknowledge', level: 0, recipients: [TACHENG] } }]);
      given(problemDecider, [...readyToClear, cleared]).when(remind, system).thenRefused('conflict', 'problem.remind.cleared');
      given(problemDecider, [found]).when(remind, ctx(actors.weixiSupervisor)).thenRefused('forbidden', 'access.role');
    });

    it('changes the warning colour, and repeating the same colour changes nothing', () => {
      const yellow = { type: 'changeColour', problemId, colour: 'yellow', reason: '超期未签收' } as const;
      const changed: ProblemEvent = { type: 'WarningColourChanged', data: { colour: 'yellow', reason: '超期未签收' } };
      given(problemDecider, [found]).when(yellow, system).then([changed]);
      expect(stateOf([found, changed]).colour).toBe('yellow');
      given(problemDecider, [found, changed]).when(yellow, system).then([]);
      given(problemDecider, [...readyToClear, cleared]).when(yellow, system).thenRefused('conflict', 'problem.colour.cleared');
      given(problemDecider, [found]).when({ ...yellow, reason: '' }, system).thenRefused('validation', 'problem.colour.reason_required');
    });

    it('escalates up the ladder, one level at a time, and never down within a clock', () => {
      given(problemDecider, [found]).when(escalate(1, WEIXI), system).then([escalated(1, WEIXI)]);
      given(problemDecider, [found, escalated(1, WEIXI)]).when(escalate(2, PREFECTURE), system).then([escalated(2, PREFECTURE)]);
      const s = stateOf([found, escalated(1, WEIXI), escalated(2, PREFECTURE)]);
      expect(s).toMatchObject({ escalationLevel: 2, escalatedTo: PREFECTURE, colour: 'red' });
      // A retried activity repeating the latest step changes nothing.
      given(problemDecider, [found, escalated(1, WEIXI)]).when(escalate(1, WEIXI), system).then([]);
      given(problemDecider, [found, escalated(1, WEIXI), escalated(2, PREFECTURE)])
        .when(escalate(1, WEIXI), system)
        .thenRefused('conflict', 'problem.escalate.level_not_higher');
      given(problemDecider, [found]).when(escalate(1, PREFECTURE), system).thenRefused('conflict', 'problem.escalate.wrong_unit');
      given(problemDecider, [found]).when(escalate(3, PREFECTURE), system).thenRefused('conflict', 'problem.escalate.beyond_top');
      // A policy whose top is the county stops the ladder there.
      const countyTop: ProblemEvent = { ...found, data: { ...(found.data as object), policy: { ...DEFAULT_POLICY, topLevel: 'county' } } } as ProblemEvent;
      given(problemDecider, [countyTop, escalated(1, WEIXI)]).when(escalate(2, PREFECTURE), system).thenRefused('conflict', 'problem.escalate.beyond_top');
      expect(escalationLadder(hierarchy, QIBIE, 'prefecture')).toEqual([TACHENG, WEIXI, PREFECTURE]);
      expect(escalationLadder(hierarchy, QIBIE, 'township')).toEqual([TACHENG]);
      given(problemDecider, [...readyToClear, cleared]).when(escalate(1, WEIXI), system).thenRefused('conflict', 'problem.escalate.cleared');
      given(problemDecider, [found]).when(escalate(1, WEIXI), ctx(actors.weixiSupervisor)).thenRefused('forbidden', 'access.role');
      given(problemDecider, [found]).when({ ...escalate(1, WEIXI), reason: ' ' }, system).thenRefused('validation', 'problem.escalate.reason_required');
      given(problemDecider, [found]).when({ ...escalate(1, WEIXI), colour: 'green' as 'red' }, system).thenRefused('validation', 'event.encode');
    });

    it('starts again from level 1 after an extension (a new clock)', () => {
      const extended: ProblemEvent = {
        type: 'DeadlineExtended',
        data: { deadline: '2020-07-15T23:59:59.999+08:00', previousDeadline: DEADLINE, reason: '延期', approvedBy: ref(actors.weixiSupervisor) },
      };
      given(problemDecider, [found, escalated(1, WEIXI), escalated(2, PREFECTURE), extended])
        .when(escalate(1, WEIXI), system)
        .then([escalated(1, WEIXI)]);
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
