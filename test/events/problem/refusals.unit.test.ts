import { describe, expect, it } from 'vitest';
import { textSchema } from '../../../events/common.js';
import { householdDecider, type HouseholdEvent } from '../../../events/household/index.js';
import {
  DEFAULT_POLICY,
  problemCommandSchemas,
  problemDecider,
  type ProblemCommand,
  type ProblemEvent,
} from '../../../events/problem/index.js';
import { actors, ctx, given, QIBIE, TACHENG } from '../gwt.js';

/** Issue 9, observations 4 and 9: impossible dates and empty or binary text are refused, never stored. */

const problemId = 'P-2027-0001';
const find = {
  type: 'findProblem',
  problemId,
  targetUnitId: QIBIE,
  responsibleUnitId: TACHENG,
  category: 'housing',
  source: 'inspection',
  description: '启别村3户农户住房安全未达标',
  severity: 'medium',
  deadline: '2027-06-30',
} as const satisfies ProblemCommand;
const found: ProblemEvent = {
  type: 'ProblemFound',
  data: { ...find, deadline: '2027-06-30T23:59:59.999+08:00', policy: DEFAULT_POLICY } as never,
};
const acknowledged: ProblemEvent = {
  type: 'ProblemAcknowledged',
  data: { acknowledgedBy: { userId: actors.tachengCadre.userId, unitId: TACHENG } },
};
const NOW = '2027-01-10T09:00:00.000+08:00';

describe('impossible dates with a time and an offset are refused, not rolled into the next month', () => {
  it.each(['2027-02-29T10:00:00+08:00', '2027-04-31T23:00:00Z'])('a problem due %j', (deadline) => {
    given(problemDecider)
      .when({ ...find, deadline }, ctx(actors.weixiSupervisor, NOW))
      .thenRefused('validation', 'time.deadline');
  });

  it('a measure due 2027-09-31T08:00:00+08:00', () => {
    given(problemDecider, [found, acknowledged])
      .when(
        { type: 'assignMeasure', problemId, measureId: 'M1', description: '危房改造', assigneeUnitId: QIBIE, deadline: '2027-09-31T08:00:00+08:00' },
        ctx(actors.tachengCadre, NOW),
      )
      .thenRefused('validation', 'time.deadline');
  });

  it('an extension to 2027-02-29T10:00:00+08:00', () => {
    given(problemDecider, [found])
      .when(
        { type: 'extendDeadline', problemId, deadline: '2027-02-29T10:00:00+08:00', reason: '雨季施工受阻' },
        ctx(actors.weixiSupervisor, NOW),
      )
      .thenRefused('validation', 'time.deadline');
  });

  it('a household plan measure due 2027-04-31T23:00:00Z', () => {
    const registered: HouseholdEvent = {
      type: 'HouseholdRegistered',
      data: { householdId: 'H1', villageId: QIBIE, members: 4, category: 'registered' },
    };
    given(householdDecider, [registered])
      .when(
        {
          type: 'addPlanMeasure',
          householdId: 'H1',
          measureId: 'PM1',
          kind: 'employment',
          description: '安排1人就业',
          responsibleUnitId: TACHENG,
          deadline: '2027-04-31T23:00:00Z',
        },
        ctx(actors.tachengCadre, NOW),
      )
      .thenRefused('validation', 'time.deadline');
  });
});

describe('text written by people says something and carries no control characters', () => {
  const bad = ['   ', '\u3000\n\t', '危房\u0000改造', '\u0000'];

  it.each(bad)('the shared text schema refuses %j', (text) => {
    expect(textSchema.safeParse(text).success).toBe(false);
  });

  it('keeps line breaks and tabs inside real text', () => {
    expect(textSchema.parse('第一条\n\t第二条')).toBe('第一条\n\t第二条');
  });

  it.each(bad)('as a problem description, a measure description and a submission summary: %j', (text) => {
    expect(problemCommandSchemas.findProblem.safeParse({ ...find, description: text }).success).toBe(false);
    const measure = { type: 'assignMeasure', problemId, measureId: 'M1', description: text, assigneeUnitId: QIBIE, deadline: '2027-06-01' };
    expect(problemCommandSchemas.assignMeasure.safeParse(measure).success).toBe(false);
    const submit = { type: 'submitRectification', problemId, summary: text, evidence: [] };
    expect(problemCommandSchemas.submitRectification.safeParse(submit).success).toBe(false);
    given(problemDecider).when({ ...find, description: text }, ctx(actors.weixiSupervisor, NOW)).thenRefused('validation', 'event.encode');
  });
});
