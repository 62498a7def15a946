import { type Action, authorize, isAuthorized } from '../access.js';
import { type ActorRef, makeEvent } from '../common.js';
import { assertNever, type DecideContext } from '../decider.js';
import { forbid, invalid, notFound, refuse } from '../errors.js';
import { compareInstants, resolveDeadline, resolveMoment } from '../time.js';
import { isStrictlyAbove, isWithin } from '../unit/hierarchy.js';
import type { ProblemCommand, ProblemCommandOf } from './commands.js';
import {
  deadlineExtendedSchema,
  measureAssignedSchema,
  measureCompletedSchema,
  problemAcknowledgedSchema,
  problemClearedSchema,
  type ProblemEvent,
  problemFoundSchema,
  problemReopenedSchema,
  rectificationRejectedSchema,
  rectificationSubmittedSchema,
} from './events.js';
import { DEFAULT_POLICY, type EscalationPolicy } from './policy.js';
import type { OpenProblem, ProblemState } from './state.js';
import { colourChanged, decideStep } from './steps.js';

/** A new clock (extension, reopening) or the clearing takes the item's colour back to none, as an event of its own. */
const colourBack = (p: OpenProblem, reason: string): ProblemEvent[] => (p.colour === 'none' ? [] : [colourChanged('none', reason)]);

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
  const { now } = context;
  const foundAt = command.foundAt === undefined ? undefined : resolveMoment(command.foundAt, policy.timeZone);
  if (foundAt !== undefined && compareInstants(foundAt, now) > 0) {
    throw invalid('problem.find.found_in_future', `found at ${foundAt}, after now (${now})`, { foundAt, now });
  }
  // The deadline is set when the problem is found; a problem recorded later may be overdue already.
  const deadline = resolveFutureDeadline(command.deadline, { policy }, foundAt ?? now, 'problem.find.deadline_passed');
  const found = makeEvent('ProblemFound', problemFoundSchema, {
    problemId: command.problemId,
    targetUnitId: command.targetUnitId,
    responsibleUnitId: command.responsibleUnitId,
    category: command.category,
    source: command.source,
    description: command.description,
    severity: command.severity,
    deadline,
    policy,
    ...(foundAt !== undefined ? { foundAt } : {}),
  });
  // Arriving overdue, it is red from the moment it is on record, never on time; the clock then escalates
  // at once to the level the ladder has reached (workflows/clock.ts), sending no reminder that fell due before.
  if (compareInstants(deadline, now) <= 0) return [found, colourChanged('red', 'deadline passed before the problem was recorded')];
  return [found];
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
          submittedAt: now,
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
      // The responsible unit's clock runs again against its deadline: already passed, red at once.
      const late = compareInstants(now, p.deadline) > 0 && p.colour !== 'red';
      return [
        makeEvent('RectificationRejected', rectificationRejectedSchema, {
          reason: command.reason,
          rejectedBy: actorRef(context),
        }),
        ...(late ? [colourChanged('red', 'rectification rejected after the deadline')] : []),
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
      return [
        makeEvent('ProblemCleared', problemClearedSchema, { verifiedBy: actorRef(context), clearedAt: now }),
        ...colourBack(p, 'cleared'),
      ];
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
        ...colourBack(p, 'reopened with a new clock'),
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
        ...colourBack(p, 'deadline extended: a new clock'),
      ];
    }

    case 'remindToAcknowledge':
    case 'remindDeadline':
    case 'escalate':
    case 'remindOverdue':
    case 'remindMeasure':
    case 'escalateVerification':
      return decideStep(command, p, context);

    default:
      return assertNever(command, 'problem command');
  }
}

