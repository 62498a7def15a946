import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Actor, RecordedEvent } from '../events/envelope.js';
import {
  deadlineReminders,
  escalationLadder,
  problemStreamId,
  timingsFor,
  type OpenProblem,
  type ProblemEvent,
  type StepCommand,
} from '../events/problem/index.js';
import { decodeEvent } from '../events/registry.js';
import { subtractDuration } from '../events/time.js';
import { createCommandHandler, type CommandOutcome } from '../services/commands/handler.js';
import { problemStream } from '../services/commands/problems.js';
import { createUnitHierarchy } from '../services/hierarchy.js';
import { StreamNotFoundError, type EventStore } from '../services/ports/event-store.js';
import { NotificationRejectedError, type Notification, type Notifier } from '../services/ports/notifier.js';
import { applyEvent, stepCausationId, type ClockEvent, type ClockState, type Step, type StepOutcome } from './clock.js';
import { createReviewActivities } from './review-activities.js';

/** A stored problem event as the clock reads it: decoded and upcast by the registry (outside the workflow bundle). */
export function clockEventOf(event: RecordedEvent): ClockEvent {
  const decoded = decodeEvent(event.type, event.metadata.schemaVersion, event.data) as ProblemEvent;
  return {
    ...decoded,
    eventId: event.metadata.eventId,
    revision: event.revision,
    occurredAt: event.metadata.occurredAt,
    causationId: event.metadata.causationId,
    correlationId: event.metadata.correlationId,
  };
}

export interface ActivityDeps {
  store: EventStore;
  notifier: Notifier;
  logger: Logger;
}

/** The workflow acting on the clock: the `system` role, on behalf of the item's responsible unit. */
export const clockActor = (unitId: string): Actor => ({ userId: 'system:rectification', unitId, role: 'system' });

/**
 * The command that records a step. Steps scheduled by runs before they named what they were computed
 * from (a retried activity of an older run) get it from the item as it stands.
 */
function stepCommand(step: Step, p: OpenProblem): StepCommand {
  const { problemId } = p;
  const deadline = step.deadline ?? p.deadline;
  switch (step.kind) {
    case 'acknowledge_reminder': {
      const window = timingsFor(p.policy, p.severity).acknowledgeWithin;
      return { type: 'remindToAcknowledge', problemId, since: step.since ?? subtractDuration(step.at, window, p.policy.timeZone) };
    }
    case 'blue_reminder': {
      const offset = step.offset ?? deadlineReminders(p)[Number(step.name.slice('blue-'.length))]?.offset ?? '';
      return { type: 'remindDeadline', problemId, deadline, offset };
    }
    case 'escalation':
      return { type: 'escalate', problemId, deadline, level: step.level };
    case 'overdue_reminder':
      return { type: 'remindOverdue', problemId, deadline, level: step.level };
    case 'measure_reminder':
      return { type: 'remindMeasure', problemId, measureId: step.measureId ?? '', phase: step.phase ?? 'overdue' };
    case 'verification_escalation':
      return { type: 'escalateVerification', problemId, submittedAt: step.submittedAt ?? step.at };
  }
}

/** How long a step waits for its notification's first attempt before leaving it to the retrying activity. */
export const INLINE_NOTIFY_MS = 2_000;

const eventOfType = (outcome: CommandOutcome, type: string) => outcome.events.find((e) => e.type === type)?.eventId;

export function createActivities(deps: ActivityDeps) {
  const { store, notifier, logger } = deps;
  const hierarchy = createUnitHierarchy({ store, logger });
  const handler = createCommandHandler({ store, hierarchy });

  async function ladderOf(p: { responsibleUnitId: string; policy: OpenProblem['policy'] }): Promise<string[]> {
    await hierarchy.ensure([p.responsibleUnitId]);
    return escalationLadder(hierarchy.view, p.responsibleUnitId, p.policy.topLevel);
  }

  /** What people are told about a step that was recorded: who, and about what. */
  function notificationOf(step: Step, outcome: CommandOutcome, p: OpenProblem): Notification | undefined {
    const colourRaised = eventOfType(outcome, 'WarningColourChanged') !== undefined && p.colour !== 'none' ? { colour: p.colour } : {};
    const escalationId = eventOfType(outcome, 'ProblemEscalated');
    if (step.kind === 'escalation' || step.kind === 'verification_escalation') {
      const verifying = step.kind === 'verification_escalation';
      const toUnitId = verifying ? p.rectification?.escalatedTo : p.escalatedTo;
      if (escalationId === undefined || !toUnitId) return undefined;
      const level = hierarchy.view.levelOf(toUnitId);
      const verifier = p.lastReminder?.recipients ?? [];
      return {
        eventId: escalationId,
        kind: 'escalation',
        recipients: verifying ? [toUnitId, ...verifier] : [toUnitId],
        problemId: p.problemId,
        ...(level ? { level } : {}),
        colour: verifying ? 'yellow' : 'red',
        summary: verifying
          ? `督办 problem ${p.problemId}: verification by ${verifier.join(', ')} escalated to ${toUnitId}`
          : `督办 problem ${p.problemId} escalated to ${toUnitId} (level ${step.level}): deadline ${p.deadline} passed`,
        occurredAt: step.at,
        details: { escalationLevel: step.level, responsibleUnitId: p.responsibleUnitId, deadline: p.deadline },
      };
    }
    const reminderId = eventOfType(outcome, 'ReminderIssued');
    if (reminderId === undefined || !p.lastReminder) return undefined;
    const { kind: reminderKind, level, recipients } = p.lastReminder;
    const what =
      reminderKind === 'acknowledge'
        ? 'please acknowledge (签收)'
        : reminderKind === 'deadline_approaching'
          ? `deadline ${step.measureId ? 'of measure ' + step.measureId + ' ' : ''}approaching`
          : 'overdue';
    return {
      eventId: reminderId,
      kind: 'reminder',
      recipients,
      problemId: p.problemId,
      ...colourRaised,
      summary: `提醒 problem ${p.problemId}: ${what}`,
      occurredAt: step.at,
      details: { reminderKind, level, ...(step.measureId ? { measureId: step.measureId } : {}) },
    };
  }

  /**
   * One delivery attempt inside the step: most receivers answer at once, and then the step costs no
   * activity of its own. A refusal (4xx) is final, as from `notify`; a failure, or no answer within
   * INLINE_NOTIFY_MS, hands the notification back for `notify` to retry (receivers drop a repeat by
   * event id, so a late answer to this attempt does no harm).
   */
  async function deliverOnce(notification: Notification): Promise<Notification | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const attempt = notifier.notify(notification).then(
      () => 'delivered' as const,
      (err: unknown) => err,
    );
    const outcome = await Promise.race([
      attempt,
      new Promise<'slow'>((resolve) => (timer = setTimeout(() => resolve('slow'), INLINE_NOTIFY_MS))),
    ]);
    clearTimeout(timer);
    if (outcome === 'delivered') return undefined;
    if (outcome instanceof NotificationRejectedError) {
      logger.warn({ eventId: notification.eventId, status: outcome.status }, 'notification refused; not retried');
      return undefined;
    }
    logger.info({ eventId: notification.eventId, err: outcome === 'slow' ? undefined : outcome }, 'notification not delivered at once; notify retries it');
    return notification;
  }

  return {
    /** Rebuilds the clock of an item from its stream (a fresh workflow run learns where it stands). */
    async loadClock(input: { problemId: string }): Promise<ClockState | undefined> {
      let events: RecordedEvent[];
      try {
        events = await store.readStream(problemStreamId(input.problemId));
      } catch (err) {
        if (err instanceof StreamNotFoundError) return undefined;
        throw err;
      }
      let clock: ClockState | undefined;
      // An activity's answer is recorded in the run's history, so the rule applies here without a patch.
      for (const e of events) clock = applyEvent(clock, clockEventOf(e), { ackFromFoundAt: true });
      if (clock && clock.level > 0) clock = { ...clock, atTop: clock.level >= (await ladderOf(clock)).length };
      return clock;
    },

    /**
     * Records one clock step through the command handler: the decider writes it only while the item as
     * it stands still makes it due, and its events' ids derive from the step, so a retried step never
     * writes twice. Returns what to notify.
     */
    async performStep(input: {
      workflowId: string;
      problemId: string;
      step: Step;
      /** Correlation id of the event that set the clock; absent in runs recorded before it was passed. */
      correlationId?: string;
      /**
       * Try the notification here, once, right after the append (the step as a local activity). Only a
       * notification that did not get through comes back, for the workflow's retrying `notify`.
       */
      notifyInline?: boolean;
    }): Promise<StepOutcome & { notification?: Notification }> {
      const { workflowId, problemId, step } = input;
      const streamId = problemStreamId(problemId);
      const { state } = await handler.load(problemStream, streamId);
      if (state.status === 'none') throw new Error(`problem ${problemId} not found`);
      const causationId = stepCausationId(step);
      const outcome = await handler.run(problemStream, streamId, stepCommand(step, state), {
        actor: clockActor(state.responsibleUnitId),
        correlationId: input.correlationId ?? workflowId,
        causationId,
        eventIdSeed: `${workflowId}/${causationId}`,
        at: step.at,
      });
      if (outcome.notDue) {
        logger.info({ problemId, step: step.name, rule: outcome.notDue.rule }, 'clock step no longer due; nothing recorded');
        return { recorded: false, notDue: outcome.notDue.rule };
      }
      const { state: after } = await handler.load(problemStream, streamId);
      if (after.status === 'none') throw new Error(`problem ${problemId} not found`);
      const found = notificationOf(step, outcome, after);
      const notification = found && input.notifyInline ? await deliverOnce(found) : found;
      if (step.kind !== 'escalation') return { recorded: true, ...(notification ? { notification } : {}) };
      const toUnitId = eventOfType(outcome, 'ProblemEscalated') !== undefined ? (after.escalatedTo ?? undefined) : undefined;
      return {
        recorded: true,
        ...(toUnitId ? { toUnitId } : {}),
        atTop: step.level >= (await ladderOf(after)).length,
        ...(notification ? { notification } : {}),
      };
    },

    /** Delivers one notification. A refusal (HTTP 4xx) is final; anything else is retried by Temporal. */
    async notify(notification: Notification): Promise<void> {
      try {
        await notifier.notify(notification);
      } catch (err) {
        if (err instanceof NotificationRejectedError) {
          throw ApplicationFailure.nonRetryable(err.message, 'NotificationRejected', { status: err.status });
        }
        throw err;
      }
    },

    ...createReviewActivities({ store, logger, handler }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
