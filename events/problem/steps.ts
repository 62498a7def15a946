import { authorize } from '../access.js';
import { makeEvent } from '../common.js';
import { assertNever, type DecideContext } from '../decider.js';
import { invalid, notDue } from '../errors.js';
import { compareInstants } from '../time.js';
import type { StepCommand } from './commands.js';
import {
  problemEscalatedSchema,
  type ProblemEvent,
  reminderIssuedSchema,
  type ReminderKind,
  type WarningColour,
  warningColourChangedSchema,
} from './events.js';
import { escalationLadder, verifierOf } from './ladder.js';
import { verifyWithinOf } from './policy.js';
import {
  acknowledgeDueAt,
  deadlineReminders,
  escalationDueAt,
  measureReminderDueAt,
  verificationDueAt,
} from './schedule.js';
import type { OpenProblem } from './state.js';

/**
 * The clock's steps. The workflow computes when a step falls due; the decider records it only while the
 * stream as it stands now still justifies it: an acknowledgement, an extension, a submission or a
 * clearing that arrived meanwhile makes the step "not due" (StepNotDue: nothing is written, and the
 * caller is not at fault). Each step writes its record and, when the item's colour rises, a
 * WarningColourChanged of its own.
 */

const colourRank: Record<WarningColour, number> = { none: 0, blue: 1, yellow: 2, red: 3 };

export const colourChanged = (colour: WarningColour, reason: string): ProblemEvent =>
  makeEvent('WarningColourChanged', warningColourChangedSchema, { colour, reason });

/** The colour change that raises the item to `colour`, unless it is that colour or above already. */
const raiseColour = (p: OpenProblem, colour: WarningColour, reason: string): ProblemEvent[] =>
  colourRank[colour] > colourRank[p.colour] ? [colourChanged(colour, reason)] : [];

const reminder = (kind: ReminderKind, level: number, recipients: string[]): ProblemEvent =>
  makeEvent('ReminderIssued', reminderIssuedSchema, { kind, level, recipients: [...new Set(recipients)] });

const sameInstant = (a: string, b: string) => compareInstants(a, b) === 0;

function requireDue(now: string, dueAt: string, what: string) {
  if (compareInstants(now, dueAt) < 0) throw notDue('problem.step.early', `${what} is due at ${dueAt}, not at ${now}`, { dueAt });
}

/** Steps against the responsible unit need its clock running, on the deadline they were computed for. */
function requireResponsibleClock(p: OpenProblem, deadline: string) {
  if (p.status === 'submitted') {
    throw notDue('problem.step.awaiting_verification', "a rectification awaits verification: the responsible unit's clock is stopped");
  }
  if (!sameInstant(p.deadline, deadline)) {
    throw notDue('problem.step.deadline_moved', `the deadline is ${p.deadline} now, not ${deadline}`, { deadline: p.deadline });
  }
}

export function decideStep(command: StepCommand, p: OpenProblem, context: DecideContext): ProblemEvent[] {
  const { actor, hierarchy, now } = context;
  const escalating = command.type === 'escalate' || command.type === 'escalateVerification';
  authorize(actor, escalating ? 'problem.escalate' : 'problem.remind', [p.responsibleUnitId], hierarchy);
  if (p.status === 'cleared') throw notDue('problem.step.cleared', `problem ${p.problemId} is cleared`);

  switch (command.type) {
    case 'remindToAcknowledge': {
      if (p.acknowledged) throw notDue('problem.step.acknowledged', `problem ${p.problemId} is acknowledged`);
      if (p.ackReminded) throw notDue('problem.step.already_reminded', 'the acknowledge reminder went out already');
      requireDue(now, acknowledgeDueAt(p, command.since), 'the acknowledge reminder');
      return [
        reminder('acknowledge', 0, [p.responsibleUnitId]),
        ...raiseColour(p, 'yellow', 'not acknowledged within the policy window'),
      ];
    }

    case 'remindDeadline': {
      requireResponsibleClock(p, command.deadline);
      const due = deadlineReminders(p).find((r) => r.offset === command.offset);
      if (!due) throw invalid('problem.step.unknown_offset', `the policy has no reminder ${command.offset} before the deadline`);
      if (compareInstants(now, p.deadline) > 0) throw notDue('problem.step.deadline_passed', `the deadline ${p.deadline} has passed`);
      requireDue(now, due.at, 'the reminder');
      return [reminder('deadline_approaching', 0, [p.responsibleUnitId]), ...raiseColour(p, 'blue', 'deadline approaching')];
    }

    case 'escalate': {
      requireResponsibleClock(p, command.deadline);
      const { level } = command;
      if (level !== p.escalationLevel + 1) {
        throw notDue('problem.step.level', `the item is at escalation level ${p.escalationLevel}; ${level} is not the next`, {
          currentLevel: p.escalationLevel,
        });
      }
      requireDue(now, escalationDueAt(p, level), `the escalation to level ${level}`);
      const red = raiseColour(p, 'red', 'deadline passed');
      // Level n goes to the n-th unit above the responsible unit, never past the policy's top level.
      const toUnitId = escalationLadder(hierarchy, p.responsibleUnitId, p.policy.topLevel)[level - 1];
      if (toUnitId === undefined) {
        if (red.length > 0) return red;
        throw notDue('problem.step.beyond_top', `no unit above level ${level - 1} within the ${p.policy.topLevel} top level`);
      }
      const reason =
        level === 1
          ? `deadline ${p.deadline} passed without clearing`
          : `still open ${level - 1} escalation interval(s) after the deadline ${p.deadline}`;
      return [makeEvent('ProblemEscalated', problemEscalatedSchema, { level, toUnitId, reason, colour: 'red' }), ...red];
    }

    case 'remindOverdue': {
      requireResponsibleClock(p, command.deadline);
      if (command.level !== p.escalationLevel) {
        throw notDue('problem.step.level', `the item is at escalation level ${p.escalationLevel}, not ${command.level}`, {
          currentLevel: p.escalationLevel,
        });
      }
      requireDue(now, p.deadline, 'an overdue reminder');
      return [reminder('overdue', command.level, [p.escalatedTo ?? p.responsibleUnitId, p.responsibleUnitId])];
    }

    case 'remindMeasure': {
      const measure = p.measures[command.measureId];
      if (!measure) throw invalid('problem.step.unknown_measure', `measure ${command.measureId} does not exist`);
      if (measure.completed) throw notDue('problem.step.measure_completed', `measure ${command.measureId} is completed`);
      const dueAt = command.phase === 'approaching' ? measureReminderDueAt(p, measure.deadline) : measure.deadline;
      if (dueAt === undefined) throw invalid('problem.step.unknown_offset', 'the policy has no reminder before a deadline');
      requireDue(now, dueAt, `the ${command.phase} reminder of measure ${command.measureId}`);
      return [reminder(command.phase === 'approaching' ? 'deadline_approaching' : 'overdue', 0, [measure.assigneeUnitId])];
    }

    case 'escalateVerification': {
      const r = p.rectification;
      if (p.status !== 'submitted' || r?.status !== 'submitted') {
        throw notDue('problem.step.not_awaiting_verification', 'no rectification awaits verification');
      }
      if (r.submittedAt !== null && !sameInstant(r.submittedAt, command.submittedAt)) {
        throw notDue('problem.step.resubmitted', `the rectification awaiting verification was submitted at ${r.submittedAt}`);
      }
      if (r.escalatedTo !== null) throw notDue('problem.step.already_escalated', `the verification is escalated to ${r.escalatedTo}`);
      requireDue(now, verificationDueAt(p.policy, command.submittedAt), 'the end of the verification window');
      const verifier = verifierOf(hierarchy, p.responsibleUnitId);
      if (verifier === undefined) throw notDue('problem.step.no_verifier', `unit ${p.responsibleUnitId} has nobody above it`);
      const toUnitId = escalationLadder(hierarchy, verifier, p.policy.topLevel)[0];
      const remindVerifier = reminder('verification', 0, [verifier]);
      if (toUnitId === undefined) return [remindVerifier];
      const reason = `not verified within ${verifyWithinOf(p.policy)} of the submission at ${command.submittedAt}`;
      return [
        // The verifier is behind schedule (yellow), not the responsible unit: the item's colour stays.
        makeEvent('ProblemEscalated', problemEscalatedSchema, { level: 1, toUnitId, reason, colour: 'yellow', stage: 'verification' }),
        remindVerifier,
      ];
    }

    default:
      return assertNever(command, 'step command');
  }
}
