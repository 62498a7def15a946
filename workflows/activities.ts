import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Actor, RecordedEvent } from '../events/envelope.js';
import { DubanError } from '../events/errors.js';
import { problemStreamId, type ProblemCommand } from '../events/problem/index.js';
import { decodeEvent } from '../events/registry.js';
import { createCommandHandler, type CommandHandler } from '../services/commands/handler.js';
import { problemStream } from '../services/commands/problems.js';
import { createUnitHierarchy } from '../services/hierarchy.js';
import { StreamNotFoundError, WrongExpectedVersionError, type EventStore } from '../services/ports/event-store.js';
import { NotificationRejectedError, type Notification, type Notifier } from '../services/ports/notifier.js';
import { applyEvent, stepCausationId, type ClockState, type Step, type StepOutcome } from './clock.js';
import { createReviewActivities } from './review-activities.js';
import { escalationLadder } from './units.js';

export interface ActivityDeps {
  store: EventStore;
  notifier: Notifier;
  logger: Logger;
  /** The one write path; default: a handler of its own over the store. */
  handler?: CommandHandler;
}

/** Step commands refused by the decider because the item moved on (cleared meanwhile): nothing to write. */
const isRefusal = (err: unknown): err is DubanError =>
  err instanceof DubanError && err.code === 'conflict' && !(err instanceof WrongExpectedVersionError);

/** The workflow acting on the clock: the `system` role, on behalf of the item's responsible unit. */
export const clockActor = (unitId: string): Actor => ({ userId: 'system:rectification', unitId, role: 'system' });

export function createActivities(deps: ActivityDeps) {
  const { store, notifier, logger } = deps;
  const handler = deps.handler ?? createCommandHandler({ store, hierarchy: createUnitHierarchy({ store, logger }) });

  /**
   * Runs the commands of one clock step through the command handler, each named by the step (its
   * events' ids derive from it), so a retried step never writes twice. The first command is the step's
   * record (the reminder or the escalation); a refusal of it means the item moved on: nothing recorded.
   */
  async function runStepCommands(
    workflowId: string,
    step: Step,
    commands: ProblemCommand[],
    responsibleUnitId: string,
    /** The request that set the clock; the workflow id for clocks started before it was carried. */
    correlationId: string,
  ): Promise<{ recorded: boolean; eventIds: string[] }> {
    const causationId = stepCausationId(step);
    const eventIds: string[] = [];
    for (const [i, command] of commands.entries()) {
      const seed = i === 0 ? `${workflowId}/${causationId}` : `${workflowId}/${causationId}/${i}`;
      try {
        const outcome = await handler.run(problemStream, problemStreamId(command.problemId), command, {
          actor: clockActor(responsibleUnitId),
          correlationId,
          causationId,
          eventIdSeed: seed,
          at: step.at,
        });
        eventIds.push(...outcome.events.map((e) => e.eventId));
      } catch (err) {
        if (!isRefusal(err)) throw err;
        if (i === 0) {
          logger.info({ problemId: command.problemId, step: step.name, rule: err.rule }, 'clock step refused; item moved on');
          return { recorded: false, eventIds: [] };
        }
      }
    }
    return { recorded: true, eventIds };
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
      for (const e of events) {
        clock = applyEvent(clock, {
          eventId: e.metadata.eventId,
          revision: e.revision,
          type: e.type,
          data: decodeEvent(e.type, e.metadata.schemaVersion, e.data).data,
          occurredAt: e.metadata.occurredAt,
          causationId: e.metadata.causationId,
          correlationId: e.metadata.correlationId,
        });
      }
      if (clock && clock.level > 0) {
        const { ladder } = await escalationLadder(store, clock.responsibleUnitId, clock.policy.topLevel);
        clock = { ...clock, atTop: clock.level >= ladder.length };
      }
      return clock;
    },

    /** Appends what one clock step records (reminder, colour, escalation); returns what to notify. */
    async performStep(input: {
      workflowId: string;
      problemId: string;
      step: Step;
      /** Correlation id of the event that set the clock; absent in runs recorded before it was passed. */
      correlationId?: string;
    }): Promise<StepOutcome & { notification?: Notification }> {
      const { workflowId, problemId, step } = input;
      const correlationId = input.correlationId ?? workflowId;
      const { state: p } = await handler.load(problemStream, problemStreamId(problemId));
      if (p.status === 'none') throw new Error(`problem ${problemId} not found`);
      const colourChange = (colour: NonNullable<Step['colour']>, reason: string): ProblemCommand => ({
        type: 'changeColour',
        problemId,
        colour,
        reason,
      });

      if (step.kind === 'escalation') {
        const { ladder } = await escalationLadder(store, p.responsibleUnitId, p.policy.topLevel);
        const target = ladder[step.level - 1];
        if (!target) return { recorded: false, atTop: true };
        const reason =
          step.level === 1
            ? `deadline ${p.deadline} passed without clearing`
            : `still open ${step.level - 1} escalation interval(s) after the deadline ${p.deadline}`;
        const commands: ProblemCommand[] = [
          { type: 'escalate', problemId, level: step.level, toUnitId: target.unitId, reason, colour: 'red' },
        ];
        const result = await runStepCommands(workflowId, step, commands, p.responsibleUnitId, correlationId);
        const atTop = step.level >= ladder.length;
        if (!result.recorded) return { recorded: false };
        return {
          recorded: true,
          toUnitId: target.unitId,
          atTop,
          notification: {
            eventId: result.eventIds[0] ?? '',
            kind: 'escalation',
            recipients: [target.unitId],
            problemId,
            level: target.level,
            colour: 'red',
            summary: `督办 problem ${problemId} escalated to ${target.unitId} (level ${step.level}): ${reason}`,
            occurredAt: step.at,
            details: { escalationLevel: step.level, responsibleUnitId: p.responsibleUnitId, deadline: p.deadline },
          },
        };
      }

      const reminderKind =
        step.kind === 'acknowledge_reminder'
          ? 'acknowledge'
          : step.kind === 'blue_reminder' || step.phase === 'approaching'
            ? 'deadline_approaching'
            : 'overdue';
      const commands: ProblemCommand[] = [
        { type: 'issueReminder', problemId, kind: reminderKind, level: step.level, recipients: step.recipients },
      ];
      if (step.colour) {
        const why =
          step.colour === 'yellow'
            ? 'not acknowledged within the policy window'
            : step.colour === 'blue'
              ? 'deadline approaching'
              : 'deadline passed';
        commands.push(colourChange(step.colour, why));
      }
      const result = await runStepCommands(workflowId, step, commands, p.responsibleUnitId, correlationId);
      if (!result.recorded) return { recorded: false };
      const what =
        reminderKind === 'acknowledge'
          ? 'please acknowledge (签收)'
          : reminderKind === 'deadline_approaching'
            ? `deadline ${step.measureId ? 'of measure ' + step.measureId + ' ' : ''}approaching`
            : 'overdue';
      return {
        recorded: true,
        notification: {
          eventId: result.eventIds[0] ?? '',
          kind: 'reminder',
          recipients: step.recipients,
          problemId,
          ...(step.colour && step.colour !== 'none' ? { colour: step.colour } : {}),
          summary: `提醒 problem ${problemId}: ${what}`,
          occurredAt: step.at,
          details: { reminderKind, level: step.level, ...(step.measureId ? { measureId: step.measureId } : {}) },
        },
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

    ...createReviewActivities({ store, notifier, logger, handler }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
