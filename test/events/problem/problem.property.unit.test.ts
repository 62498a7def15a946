import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DubanError } from '../../../events/errors.js';
import {
  type OpenProblem,
  type ProblemCommand,
  problemDecider,
  type ProblemEvent,
  type ProblemState,
} from '../../../events/problem/index.js';
import { decodeEvent, encodeEvent } from '../../../events/registry.js';
import { addDuration } from '../../../events/time.js';
import { isStrictlyAbove } from '../../../events/unit/hierarchy.js';
import { actors, ctx, evidence, hierarchy, QIBIE, TACHENG } from '../gwt.js';

/**
 * Random command sequences by random actors, moving time forward: whatever is accepted, the rules of
 * DOMAIN.md hold afterwards, decide is deterministic, every refusal is a DubanError, and every emitted
 * event survives the registry's encode/decode round trip.
 */
const problemId = 'P-prop';
const measureIds = ['M1', 'M2', 'M3'];
const dates = ['2020-05-20', '2020-06-30', '2020-07-15', '2020-08-31', '2020-12-31', '2021-06-30'];
const anyActor = fc.constantFrom(...Object.values(actors));

const command: fc.Arbitrary<ProblemCommand> = fc.oneof(
  fc.constant<ProblemCommand>({
    type: 'findProblem',
    problemId,
    targetUnitId: QIBIE,
    responsibleUnitId: TACHENG,
    category: 'housing',
    source: 'inspection',
    description: '住房安全问题',
    severity: 'medium',
    deadline: '2020-09-30',
  }),
  fc.constant<ProblemCommand>({ type: 'acknowledgeProblem', problemId }),
  fc.record({ measureId: fc.constantFrom(...measureIds), deadline: fc.constantFrom(...dates) }).map(
    ({ measureId, deadline }): ProblemCommand => ({
      type: 'assignMeasure',
      problemId,
      measureId,
      description: '措施',
      assigneeUnitId: QIBIE,
      deadline,
    }),
  ),
  fc.constantFrom(...measureIds).map((measureId): ProblemCommand => ({
    type: 'completeMeasure',
    problemId,
    measureId,
    evidence: [evidence(1)],
  })),
  fc.constant<ProblemCommand>({ type: 'submitRectification', problemId, summary: '已整改', evidence: [evidence(2)] }),
  fc.constant<ProblemCommand>({ type: 'rejectRectification', problemId, reason: '未完成' }),
  fc.constant<ProblemCommand>({ type: 'clearProblem', problemId }),
  fc.constantFrom(...dates).map((deadline): ProblemCommand => ({ type: 'reopenProblem', problemId, reason: '回头看', deadline })),
  fc.constantFrom(...dates).map((deadline): ProblemCommand => ({ type: 'extendDeadline', problemId, reason: '延期', deadline })),
  // The clock's steps, computed for one of the deadlines a problem may have had (the finding's most often).
  fc
    .record({
      deadline: fc.constantFrom('2020-09-30', '2020-09-30', ...dates).map((d) => `${d}T23:59:59.999+08:00`),
      level: fc.integer({ min: 0, max: 4 }),
      step: fc.constantFrom('escalate', 'remindOverdue', 'remindDeadline', 'remindToAcknowledge', 'remindMeasure', 'escalateVerification'),
      measureId: fc.constantFrom(...measureIds),
    })
    .map(({ deadline, level, step, measureId }): ProblemCommand => {
      switch (step) {
        case 'escalate':
          return { type: 'escalate', problemId, deadline, level: Math.max(1, level) };
        case 'remindOverdue':
          return { type: 'remindOverdue', problemId, deadline, level };
        case 'remindDeadline':
          return { type: 'remindDeadline', problemId, deadline, offset: 'P3D' };
        case 'remindToAcknowledge':
          return { type: 'remindToAcknowledge', problemId, since: '2020-05-01T09:00:00.000+08:00' };
        case 'remindMeasure':
          return { type: 'remindMeasure', problemId, measureId, phase: level % 2 ? 'approaching' : 'overdue' };
        default:
          return { type: 'escalateVerification', problemId, submittedAt: '2020-05-01T09:00:00.000+08:00' };
      }
    }),
);

/** Mostly the actor who may plausibly act, sometimes anybody: both acceptance and refusal get exercised. */
const plausible: Record<ProblemCommand['type'], (typeof actors)[keyof typeof actors][]> = {
  findProblem: [actors.weixiSupervisor, actors.prefectureInspector],
  acknowledgeProblem: [actors.tachengCadre],
  assignMeasure: [actors.tachengCadre, actors.weixiCadre],
  completeMeasure: [actors.qibieCadre, actors.tachengCadre],
  submitRectification: [actors.tachengCadre, actors.weixiCadre],
  rejectRectification: [actors.weixiSupervisor, actors.prefectureSupervisor],
  clearProblem: [actors.weixiSupervisor, actors.prefectureSupervisor],
  reopenProblem: [actors.prefectureInspector, actors.weixiSupervisor],
  extendDeadline: [actors.weixiSupervisor],
  remindToAcknowledge: [actors.system],
  remindDeadline: [actors.system],
  escalate: [actors.system],
  remindOverdue: [actors.system],
  remindMeasure: [actors.system],
  escalateVerification: [actors.system],
};
const anyStep = command.chain((c) =>
  fc.record({
    command: fc.constant(c),
    actor: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...plausible[c.type]) }, { weight: 1, arbitrary: anyActor }),
    hoursLater: fc.integer({ min: 0, max: 48 }),
  }),
);

/** A sequence usually starts with the finding, so most steps work on a live problem. */
const findFirst = fc.record({ command: command.filter((c) => c.type === 'findProblem'), actor: fc.constant(actors.weixiSupervisor), hoursLater: fc.constant(0) });
const steps = fc.tuple(findFirst, fc.array(anyStep, { minLength: 20, maxLength: 80 })).map(([first, rest]) => [first, ...rest]);

describe('problem decider under random command sequences', () => {
  it('keeps every rule', { timeout: 60_000 }, () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: steps }, { weight: 1, arbitrary: fc.array(anyStep, { maxLength: 30 }) }), (steps) => {
        let state: ProblemState = problemDecider.initialState;
        let now = '2020-05-01T09:00:00.000+08:00';
        let clears = 0;
        let extensions = 0;
        for (const { command, actor, hoursLater } of steps) {
          now = addDuration(now, `PT${hoursLater}H`);
          const context = ctx(actor, now);
          let events: ProblemEvent[];
          try {
            events = problemDecider.decide(command, state, context);
          } catch (error) {
            expect(error).toBeInstanceOf(DubanError);
            continue;
          }
          expect(problemDecider.decide(command, state, context)).toEqual(events);
          for (const event of events) {
            const before = state;
            const stored = encodeEvent(event.type, event.data);
            expect(decodeEvent(event.type, stored.schemaVersion, JSON.parse(JSON.stringify(stored.data)))).toEqual(event);
            state = problemDecider.evolve(state, event);
            if (before.status === 'none') continue;
            const p = state as OpenProblem;
            if (event.type === 'ProblemCleared') {
              clears++;
              expect(Object.values(before.measures).every((m) => m.completed)).toBe(true);
              expect(before.rectification?.status).toBe('submitted');
              expect(event.data.verifiedBy.unitId).not.toBe(p.responsibleUnitId);
              expect(isStrictlyAbove(hierarchy, event.data.verifiedBy.unitId, p.responsibleUnitId)).toBe(true);
              expect(event.data.verifiedBy.userId).not.toBe(before.submittedBy?.userId);
            }
            if (event.type === 'DeadlineExtended') {
              extensions++;
              expect(event.data.deadline > before.deadline).toBe(true);
            }
            if (event.type === 'MeasureAssigned') expect(before.status).not.toBe('cleared');
            if (event.type === 'ProblemEscalated' && event.data.stage !== 'verification') {
              expect(event.data.level).toBeGreaterThan(before.escalationLevel);
              // Never against on-time work awaiting verification, never past the policy's top level.
              expect(before.status).not.toBe('submitted');
              expect(hierarchy.levelOf(event.data.toUnitId)).not.toBe(undefined);
            }
            if (event.type === 'ProblemReopened') expect(before.status).toBe('cleared');
          }
          seen.add(state.status === 'none' ? 'none' : `${state.status}/${state.reopenCount > 0 ? 'reopened' : 'first'}`);
          if (state.status !== 'none') {
            const done = Object.values(state.measures).filter((m) => m.completed).length;
            expect(state.measuresDone).toBe(done);
            expect(state.measuresTotal).toBe(Object.keys(state.measures).length);
            expect(state.lateness).toHaveLength(clears + extensions);
          }
        }
      }),
      { numRuns: 150 },
    );
    // The sequences must actually reach the interesting states, or the property proves little.
    expect([...seen]).toEqual(expect.arrayContaining(['open/first', 'submitted/first', 'cleared/first', 'open/reopened']));
  });
});
