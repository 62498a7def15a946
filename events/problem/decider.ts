import { type Action, authorize, isAuthorized } from '../access.js';
import { type ActorRef, type Evidence, makeEvent } from '../common.js';
import { assertNever, type DecideContext, type Decider } from '../decider.js';
import { forbid, invalid, notFound, refuse } from '../errors.js';
import { compareInstants, resolveDeadline, toEpochMs } from '../time.js';
import { ancestorsOf, type HierarchyView, isStrictlyAbove, isWithin, type UnitLevel } from '../unit/hierarchy.js';
import type { ProblemCommand, ProblemCommandOf } from './commands.js';
import {
  deadlineExtendedSchema,
  measureAssignedSchema,
  measureCompletedSchema,
  problemAcknowledgedSchema,
  problemClearedSchema,
  type ProblemCategory,
  problemEscalatedSchema,
  type ProblemEvent,
  problemFoundSchema,
  problemReopenedSchema,
  type ProblemSource,
  rectificationRejectedSchema,
  rectificationSubmittedSchema,
  reminderIssuedSchema,
  type ReminderKind,
  type WarningColour,
  warningColourChangedSchema,
} from './events.js';
import { DEFAULT_POLICY, type EscalationPolicy, type Severity } from './policy.js';

// ---------------------------------------------------------------------------------------------------
// State

/**
 * open: found (or reopened), not yet signed for; acknowledged: signed for, work under way (also after a
 * rejected rectification); submitted: rectification awaiting verification; cleared: verified and closed.
 */
export type ProblemStatus = 'open' | 'acknowledged' | 'submitted' | 'cleared';

export interface ProblemMeasure {
  measureId: string;
  description: string;
  assigneeUnitId: string;
  deadline: string;
  completed: boolean;
  evidence: Evidence[];
}

export type Rectification =
  | { status: 'submitted'; summary: string; evidence: Evidence[]; submittedBy: ActorRef }
  | { status: 'rejected'; summary: string; evidence: Evidence[]; submittedBy: ActorRef; rejectionReason: string };

/**
 * One finished clock (from finding, extension or reopening until the next extension or the clearing).
 * Kept for ever, so reopening or extending never wipes out how late an item was.
 */
export interface ClockRecord {
  deadline: string;
  endedBy: 'cleared' | 'extended';
  /** Highest escalation level reached on this clock (0 = never escalated). */
  escalationLevel: number;
  /** The warning colour when the clock ended. */
  colour: WarningColour;
  /** Only for clearing: when it was cleared, and how late (0 when on time). */
  clearedAt: string | null;
  lateByMs: number | null;
  /** Cleared after the deadline, or escalated/red before the clock ended. */
  late: boolean;
}

export interface OpenProblem {
  status: ProblemStatus;
  problemId: string;
  targetUnitId: string;
  responsibleUnitId: string;
  category: ProblemCategory;
  source: ProblemSource;
  description: string;
  severity: Severity;
  policy: EscalationPolicy;
  /** Current deadline (ISO 8601 with offset). */
  deadline: string;
  /** What started the current clock. */
  clockStartedBy: 'found' | 'extended' | 'reopened';
  acknowledged: boolean;
  colour: WarningColour;
  /** Current escalation level on this clock (0 = not escalated); only goes up within a clock. */
  escalationLevel: number;
  escalatedTo: string | null;
  remindersIssued: number;
  lastReminder: { kind: ReminderKind; level: number; recipients: string[] } | null;
  measures: Record<string, ProblemMeasure>;
  measuresTotal: number;
  measuresDone: number;
  rectification: Rectification | null;
  /** Who submitted the latest rectification (null before any). */
  submittedBy: ActorRef | null;
  clearedBy: ActorRef | null;
  clearedAt: string | null;
  reopenCount: number;
  /** Finished clocks, oldest first: the lateness history. */
  lateness: ClockRecord[];
}

export type ProblemState = { status: 'none' } | OpenProblem;

export const initialProblemState: ProblemState = { status: 'none' };

function closeClock(p: OpenProblem, endedBy: ClockRecord['endedBy'], clearedAt: string | null): ClockRecord {
  const lateByMs = clearedAt === null ? null : Math.max(0, toEpochMs(clearedAt) - toEpochMs(p.deadline));
  return {
    deadline: p.deadline,
    endedBy,
    escalationLevel: p.escalationLevel,
    colour: p.colour,
    clearedAt,
    lateByMs,
    late: (lateByMs ?? 0) > 0 || p.escalationLevel > 0 || p.colour === 'red',
  };
}

/** A fresh clock: no colour, no escalation. */
const restartClock = { colour: 'none', escalationLevel: 0, escalatedTo: null } as const;

export function evolveProblem(state: ProblemState, event: ProblemEvent): ProblemState {
  if (event.type === 'ProblemFound') {
    if (state.status !== 'none') return state;
    const { problemId, targetUnitId, responsibleUnitId, category, source, description, severity } = event.data;
    return {
      status: 'open',
      problemId,
      targetUnitId,
      responsibleUnitId,
      category,
      source,
      description,
      severity,
      policy: event.data.policy,
      deadline: event.data.deadline,
      clockStartedBy: 'found',
      acknowledged: false,
      ...restartClock,
      remindersIssued: 0,
      lastReminder: null,
      measures: {},
      measuresTotal: 0,
      measuresDone: 0,
      rectification: null,
      submittedBy: null,
      clearedBy: null,
      clearedAt: null,
      reopenCount: 0,
      lateness: [],
    };
  }
  // Every other event needs a found problem; stored streams are valid, so this only guards odd input.
  if (state.status === 'none') return state;
  const p = state;
  switch (event.type) {
    case 'ProblemAcknowledged':
      return { ...p, acknowledged: true, status: p.status === 'open' ? 'acknowledged' : p.status };
    case 'MeasureAssigned': {
      const { measureId, description, assigneeUnitId, deadline } = event.data;
      if (p.measures[measureId]) return p;
      return {
        ...p,
        measures: {
          ...p.measures,
          [measureId]: { measureId, description, assigneeUnitId, deadline, completed: false, evidence: [] },
        },
        measuresTotal: p.measuresTotal + 1,
      };
    }
    case 'MeasureCompleted': {
      const measure = p.measures[event.data.measureId];
      if (!measure || measure.completed) return p;
      return {
        ...p,
        measures: { ...p.measures, [measure.measureId]: { ...measure, completed: true, evidence: event.data.evidence } },
        measuresDone: p.measuresDone + 1,
      };
    }
    case 'RectificationSubmitted': {
      const { summary, evidence, submittedBy } = event.data;
      return {
        ...p,
        status: 'submitted',
        rectification: { status: 'submitted', summary, evidence, submittedBy },
        submittedBy,
      };
    }
    case 'RectificationRejected':
      if (p.rectification === null) return p;
      return {
        ...p,
        status: p.acknowledged ? 'acknowledged' : 'open',
        rectification: { ...p.rectification, status: 'rejected', rejectionReason: event.data.reason },
      };
    case 'ProblemCleared':
      return {
        ...p,
        status: 'cleared',
        clearedBy: event.data.verifiedBy,
        clearedAt: event.data.clearedAt,
        lateness: [...p.lateness, closeClock(p, 'cleared', event.data.clearedAt)],
      };
    case 'ProblemReopened':
      // A look-back found it not genuinely fixed: sign for it again, rectify again, new clock.
      return {
        ...p,
        status: 'open',
        acknowledged: false,
        deadline: event.data.deadline,
        clockStartedBy: 'reopened',
        ...restartClock,
        rectification: null,
        clearedBy: null,
        clearedAt: null,
        reopenCount: p.reopenCount + 1,
      };
    case 'DeadlineExtended':
      return {
        ...p,
        deadline: event.data.deadline,
        clockStartedBy: 'extended',
        lateness: [...p.lateness, closeClock(p, 'extended', null)],
        ...restartClock,
      };
    case 'ReminderIssued': {
      const { kind, level, recipients } = event.data;
      return { ...p, remindersIssued: p.remindersIssued + 1, lastReminder: { kind, level, recipients } };
    }
    case 'ProblemEscalated':
      return {
        ...p,
        escalationLevel: Math.max(p.escalationLevel, event.data.level),
        escalatedTo: event.data.toUnitId,
        colour: event.data.colour,
      };
    case 'WarningColourChanged':
      return { ...p, colour: event.data.colour };
    default:
      return assertNever(event, 'problem event');
  }
}

/** True when every measure is done and a rectification is submitted and not rejected since. */
export const isReadyToClear = (p: OpenProblem) =>
  p.status === 'submitted' && p.measuresDone === p.measuresTotal && p.rectification?.status === 'submitted';

/** Overdue at `now`: not cleared and past the deadline. */
export const isOverdue = (p: OpenProblem, now: string) => p.status !== 'cleared' && compareInstants(now, p.deadline) > 0;

/**
 * The units an overdue problem escalates to, level 1 first: the responsible unit's ancestors up to and
 * including the first one at the policy's top level (or the root).
 */
export function escalationLadder(hierarchy: HierarchyView, responsibleUnitId: string, topLevel: UnitLevel): string[] {
  const ladder: string[] = [];
  for (const unitId of ancestorsOf(hierarchy, responsibleUnitId)) {
    ladder.push(unitId);
    if (hierarchy.levelOf(unitId) === topLevel) break;
  }
  return ladder;
}

// ---------------------------------------------------------------------------------------------------
// Decide

const actorRef = (context: DecideContext): ActorRef => ({
  userId: context.actor.userId,
  unitId: context.actor.unitId,
});

function requireProblem(state: ProblemState, command: { problemId: string }): OpenProblem {
  if (state.status === 'none') {
    throw notFound('problem.not_found', `problem ${command.problemId} was never found`, {
      problemId: command.problemId,
    });
  }
  if (state.problemId !== command.problemId) {
    throw invalid('problem.stream_mismatch', `command for ${command.problemId} sent to ${state.problemId}`, {
      problemId: command.problemId,
    });
  }
  return state;
}

function requireNotCleared(p: OpenProblem, rule: string, what: string) {
  if (p.status === 'cleared') {
    throw refuse(rule, `problem ${p.problemId} is cleared; ${what} needs a reopening first`, {
      problemId: p.problemId,
    });
  }
}

function requireReason(reason: string, rule: string) {
  if (reason.trim().length === 0) throw invalid(rule, 'a reason is required');
}

/** The acting unit must be strictly above the responsible unit (and never the responsible unit itself). */
function requireAboveResponsible(p: OpenProblem, context: DecideContext, rulePrefix: string) {
  const { actor, hierarchy } = context;
  if (actor.unitId === p.responsibleUnitId) {
    throw forbid(`${rulePrefix}.own_unit`, `the responsible unit ${p.responsibleUnitId} cannot do this itself`, {
      problemId: p.problemId,
      unitId: actor.unitId,
    });
  }
  if (!isStrictlyAbove(hierarchy, actor.unitId, p.responsibleUnitId)) {
    throw forbid(`${rulePrefix}.not_above`, `unit ${actor.unitId} is not above ${p.responsibleUnitId}`, {
      problemId: p.problemId,
      unitId: actor.unitId,
      responsibleUnitId: p.responsibleUnitId,
    });
  }
}

function resolveFutureDeadline(deadline: string, p: { policy: EscalationPolicy }, now: string, rule: string) {
  const resolved = resolveDeadline(deadline, p.policy.timeZone);
  if (compareInstants(resolved, now) <= 0) {
    throw invalid(rule, `deadline ${resolved} is not after now (${now})`, { deadline: resolved, now });
  }
  return resolved;
}

function findProblem(command: ProblemCommandOf<'findProblem'>, state: ProblemState, context: DecideContext) {
  const { hierarchy } = context;
  if (state.status !== 'none') {
    throw refuse('problem.find.duplicate', `problem ${command.problemId} already exists`, {
      problemId: command.problemId,
    });
  }
  for (const unitId of [command.targetUnitId, command.responsibleUnitId]) {
    if (hierarchy.levelOf(unitId) === undefined) {
      throw notFound('problem.find.unknown_unit', `unit ${unitId} is not registered`, { unitId });
    }
  }
  if (
    !isWithin(hierarchy, command.responsibleUnitId, command.targetUnitId) &&
    !isWithin(hierarchy, command.targetUnitId, command.responsibleUnitId)
  ) {
    throw invalid(
      'problem.find.unrelated_units',
      `responsible unit ${command.responsibleUnitId} is neither above nor below target ${command.targetUnitId}`,
    );
  }
  authorize(context.actor, 'problem.find', [command.targetUnitId, command.responsibleUnitId], hierarchy);
  const policy = command.policy ?? DEFAULT_POLICY;
  const deadline = resolveFutureDeadline(command.deadline, { policy }, context.now, 'problem.find.deadline_passed');
  return [
    makeEvent('ProblemFound', problemFoundSchema, {
      problemId: command.problemId,
      targetUnitId: command.targetUnitId,
      responsibleUnitId: command.responsibleUnitId,
      category: command.category,
      source: command.source,
      description: command.description,
      severity: command.severity,
      deadline,
      policy,
    }),
  ];
}

export function decideProblem(command: ProblemCommand, state: ProblemState, context: DecideContext): ProblemEvent[] {
  if (command.type === 'findProblem') return findProblem(command, state, context);
  const p = requireProblem(state, command);
  const { actor, hierarchy, now } = context;
  const allow = (action: Action, units: string[] = [p.responsibleUnitId]) =>
    authorize(actor, action, units, hierarchy);

  switch (command.type) {
    case 'acknowledgeProblem': {
      allow('problem.acknowledge');
      requireNotCleared(p, 'problem.acknowledge.cleared', 'acknowledging');
      if (p.acknowledged) {
        throw refuse('problem.acknowledge.already', `problem ${p.problemId} is already acknowledged`, {
          problemId: p.problemId,
        });
      }
      return [makeEvent('ProblemAcknowledged', problemAcknowledgedSchema, { acknowledgedBy: actorRef(context) })];
    }

    case 'assignMeasure': {
      requireNotCleared(p, 'problem.measure.cleared', 'a new measure');
      if (hierarchy.levelOf(command.assigneeUnitId) === undefined) {
        throw notFound('problem.measure.unknown_assignee', `unit ${command.assigneeUnitId} is not registered`, {
          unitId: command.assigneeUnitId,
        });
      }
      allow('problem.assignMeasure', [p.responsibleUnitId, command.assigneeUnitId]);
      if (p.measures[command.measureId]) {
        throw refuse('problem.measure.duplicate', `measure ${command.measureId} already exists`, {
          measureId: command.measureId,
        });
      }
      const deadline = resolveFutureDeadline(command.deadline, p, now, 'problem.measure.deadline_passed');
      return [
        makeEvent('MeasureAssigned', measureAssignedSchema, {
          measureId: command.measureId,
          description: command.description,
          assigneeUnitId: command.assigneeUnitId,
          deadline,
        }),
      ];
    }

    case 'completeMeasure': {
      const measure = p.measures[command.measureId];
      if (!measure) {
        throw notFound('problem.complete.unknown_measure', `measure ${command.measureId} does not exist`, {
          measureId: command.measureId,
        });
      }
      // Cadres of the assignee unit, or of the responsible unit (or above either), may report completion.
      if (!isAuthorized(actor, 'problem.completeMeasure', [measure.assigneeUnitId], hierarchy)) {
        allow('problem.completeMeasure');
      }
      if (measure.completed) {
        throw refuse('problem.complete.already_completed', `measure ${command.measureId} is already completed`, {
          measureId: command.measureId,
        });
      }
      return [
        makeEvent('MeasureCompleted', measureCompletedSchema, {
          measureId: command.measureId,
          evidence: command.evidence,
        }),
      ];
    }

    case 'submitRectification': {
      allow('problem.submitRectification');
      requireNotCleared(p, 'problem.submit.cleared', 'a new rectification');
      if (!p.acknowledged) {
        throw refuse('problem.submit.not_acknowledged', 'the responsible unit must acknowledge the problem first', {
          problemId: p.problemId,
        });
      }
      if (p.rectification?.status === 'submitted') {
        throw refuse('problem.submit.pending', 'a rectification is already awaiting verification', {
          problemId: p.problemId,
        });
      }
      return [
        makeEvent('RectificationSubmitted', rectificationSubmittedSchema, {
          summary: command.summary,
          evidence: command.evidence,
          submittedBy: actorRef(context),
        }),
      ];
    }

    case 'rejectRectification': {
      requireAboveResponsible(p, context, 'problem.reject');
      allow('problem.reject');
      requireReason(command.reason, 'problem.reject.reason_required');
      if (p.rectification?.status !== 'submitted') {
        throw refuse('problem.reject.nothing_submitted', 'no rectification is awaiting verification', {
          problemId: p.problemId,
        });
      }
      return [
        makeEvent('RectificationRejected', rectificationRejectedSchema, {
          reason: command.reason,
          rejectedBy: actorRef(context),
        }),
      ];
    }

    case 'clearProblem': {
      requireNotCleared(p, 'problem.clear.already_cleared', 'clearing again');
      requireAboveResponsible(p, context, 'problem.clear');
      if (p.submittedBy && p.submittedBy.userId === actor.userId) {
        throw forbid('problem.clear.own_submission', 'the user who submitted the rectification cannot clear it', {
          problemId: p.problemId,
          userId: actor.userId,
        });
      }
      allow('problem.clear');
      const open = Object.values(p.measures).filter((m) => !m.completed);
      if (open.length > 0) {
        throw refuse('problem.clear.open_measures', `${open.length} measure(s) are not completed`, {
          problemId: p.problemId,
          openMeasureIds: open.map((m) => m.measureId),
        });
      }
      if (p.rectification?.status !== 'submitted') {
        throw refuse(
          'problem.clear.no_rectification',
          p.rectification ? 'the last rectification was rejected' : 'no rectification was submitted',
          { problemId: p.problemId },
        );
      }
      return [makeEvent('ProblemCleared', problemClearedSchema, { verifiedBy: actorRef(context), clearedAt: now })];
    }

    case 'reopenProblem': {
      allow('problem.reopen');
      if (p.status !== 'cleared') {
        throw refuse('problem.reopen.not_cleared', 'only a cleared problem can be reopened', {
          problemId: p.problemId,
          status: p.status,
        });
      }
      requireReason(command.reason, 'problem.reopen.reason_required');
      const deadline = resolveFutureDeadline(command.deadline, p, now, 'problem.reopen.deadline_passed');
      return [
        makeEvent('ProblemReopened', problemReopenedSchema, {
          reason: command.reason,
          deadline,
          reopenedBy: actorRef(context),
        }),
      ];
    }

    case 'extendDeadline': {
      requireNotCleared(p, 'problem.extend.cleared', 'an extension');
      requireAboveResponsible(p, context, 'problem.extend');
      allow('problem.extend');
      requireReason(command.reason, 'problem.extend.reason_required');
      const deadline = resolveDeadline(command.deadline, p.policy.timeZone);
      if (compareInstants(deadline, p.deadline) <= 0) {
        throw refuse('problem.extend.not_forward', `new deadline ${deadline} is not after ${p.deadline}`, {
          deadline,
          currentDeadline: p.deadline,
        });
      }
      return [
        makeEvent('DeadlineExtended', deadlineExtendedSchema, {
          deadline,
          previousDeadline: p.deadline,
          reason: command.reason,
          approvedBy: actorRef(context),
        }),
      ];
    }

    case 'issueReminder': {
      allow('problem.remind');
      requireNotCleared(p, 'problem.remind.cleared', 'a reminder');
      return [
        makeEvent('ReminderIssued', reminderIssuedSchema, {
          kind: command.kind,
          level: command.level,
          recipients: command.recipients,
        }),
      ];
    }

    case 'escalate': {
      allow('problem.escalate');
      requireNotCleared(p, 'problem.escalate.cleared', 'an escalation');
      requireReason(command.reason, 'problem.escalate.reason_required');
      // Repeating the latest escalation (an activity retried after its append) changes nothing.
      if (command.level === p.escalationLevel && command.toUnitId === p.escalatedTo) return [];
      if (command.level <= p.escalationLevel) {
        throw refuse(
          'problem.escalate.level_not_higher',
          `escalation level ${command.level} is not above the current level ${p.escalationLevel}`,
          { level: command.level, currentLevel: p.escalationLevel },
        );
      }
      // Level n goes to the n-th unit above the responsible unit, never past the policy's top level.
      const ladder = escalationLadder(hierarchy, p.responsibleUnitId, p.policy.topLevel);
      const expected = ladder[command.level - 1];
      if (expected === undefined) {
        throw refuse(
          'problem.escalate.beyond_top',
          `level ${command.level} is above the top of the ladder (${ladder.length} level(s) up to the ${p.policy.topLevel})`,
          { level: command.level, ladder },
        );
      }
      if (expected !== command.toUnitId) {
        throw refuse('problem.escalate.wrong_unit', `level ${command.level} escalates to ${expected}, not ${command.toUnitId}`, {
          level: command.level,
          toUnitId: command.toUnitId,
          expectedUnitId: expected,
        });
      }
      return [
        makeEvent('ProblemEscalated', problemEscalatedSchema, {
          level: command.level,
          toUnitId: command.toUnitId,
          reason: command.reason,
          colour: command.colour,
        }),
      ];
    }

    case 'changeColour': {
      allow('problem.colour');
      requireNotCleared(p, 'problem.colour.cleared', 'a colour change');
      requireReason(command.reason, 'problem.colour.reason_required');
      if (command.colour === p.colour) return [];
      return [
        makeEvent('WarningColourChanged', warningColourChangedSchema, {
          colour: command.colour,
          reason: command.reason,
        }),
      ];
    }

    default:
      return assertNever(command, 'problem command');
  }
}

export const problemDecider: Decider<ProblemCommand, ProblemEvent, ProblemState> = {
  initialState: initialProblemState,
  evolve: evolveProblem,
  decide: decideProblem,
};
