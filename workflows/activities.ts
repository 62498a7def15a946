import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Actor, NewEvent, RecordedEvent } from '../events/envelope.js';
import { DubanError } from '../events/errors.js';
import { problemDecider, type ProblemState } from '../events/problem/decider.js';
import { problemStreamId, type ProblemCommand, type ProblemEvent } from '../events/problem/index.js';
import { decodeEvent, encodeEvent } from '../events/registry.js';
import { hierarchyFromUnits } from '../events/unit/hierarchy.js';
import {
  expected,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type EventStore,
} from '../services/ports/event-store.js';
import { NotificationRejectedError, type Notification, type Notifier } from '../services/ports/notifier.js';
import { applyEvent, stepCausationId, type ClockState, type Step, type StepOutcome } from './clock.js';
import { nameBasedUuid } from './ids.js';
import { createReviewActivities } from './review-activities.js';
import { escalationLadder, readUnit, type UnitNode } from './units.js';

export interface ActivityDeps {
  store: EventStore;
  notifier: Notifier;
  logger: Logger;
}

/** The workflow acting on the clock: the `system` role, on behalf of the item's responsible unit. */
export const clockActor = (unitId: string): Actor => ({ userId: 'system:rectification', unitId, role: 'system' });

interface LoadedProblem {
  state: ProblemState;
  revision: number;
  eventIds: Set<string>;
  events: RecordedEvent[];
}

async function loadProblem(store: EventStore, problemId: string): Promise<LoadedProblem | undefined> {
  let events: RecordedEvent[];
  try {
    events = await store.readStream(problemStreamId(problemId));
  } catch (err) {
    if (err instanceof StreamNotFoundError) return undefined;
    throw err;
  }
  let state = problemDecider.initialState;
  const eventIds = new Set<string>();
  for (const e of events) {
    state = problemDecider.evolve(state, decodeEvent(e.type, e.metadata.schemaVersion, e.data) as ProblemEvent);
    eventIds.add(e.metadata.eventId);
  }
  return { state, revision: events.at(-1)?.revision ?? -1, eventIds, events };
}

/** Step commands refused by the decider because the item moved on (cleared meanwhile): nothing to write. */
const isRefusal = (err: unknown): err is DubanError => err instanceof DubanError && err.code === 'conflict';

export function createActivities(deps: ActivityDeps) {
  const { store, notifier, logger } = deps;

  /**
   * Runs the commands of one clock step against the problem stream, each with its own deterministic
   * event id, skipping any already stored: a retried step never writes twice.
   */
  async function appendStepCommands(
    workflowId: string,
    step: Step,
    commands: ProblemCommand[],
    units: UnitNode[],
    responsibleUnitId: string,
    /** The stream as the caller just read it; re-read only after a concurrent append. */
    firstRead: LoadedProblem | undefined,
    /** The request that set the clock; the workflow id for clocks started before it was carried. */
    correlationId: string,
  ): Promise<{ recorded: boolean; eventIds: string[] }> {
    const problemId = commands[0]?.problemId;
    if (!problemId) return { recorded: false, eventIds: [] };
    const causationId = stepCausationId(step);
    const ids = commands.map((_, i) => nameBasedUuid(`${workflowId}/${causationId}/${i}`));
    const hierarchy = hierarchyFromUnits(units);
    const actor = clockActor(responsibleUnitId);
    for (let attempt = 0; ; attempt++) {
      const loaded = attempt === 0 && firstRead ? firstRead : await loadProblem(store, problemId);
      if (!loaded) throw new Error(`problem ${problemId} has no stream`);
      const { eventIds } = loaded;
      let { state } = loaded;
      // The first command is the step's record (the reminder or the escalation); the rest follow it.
      let primaryDone = eventIds.has(ids[0] as string);
      if (ids.every((id) => eventIds.has(id))) return { recorded: true, eventIds: ids };
      const batch: NewEvent[] = [];
      try {
        for (const [i, command] of commands.entries()) {
          const eventId = ids[i] as string;
          if (eventIds.has(eventId)) continue;
          const decided = problemDecider.decide(command, state, { now: step.at, actor, hierarchy });
          // A decider answering "nothing to do" (the same escalation already stands) counts as done.
          if (i === 0 && decided.length === 0) primaryDone = true;
          for (const [j, event] of decided.entries()) {
            const encoded = encodeEvent(event.type, event.data);
            batch.push({
              type: encoded.type,
              data: encoded.data,
              metadata: {
                eventId: j === 0 ? eventId : nameBasedUuid(`${workflowId}/${causationId}/${i}/${j}`),
                occurredAt: step.at,
                actor,
                correlationId,
                causationId,
                schemaVersion: encoded.schemaVersion,
              },
            });
            state = problemDecider.evolve(state, event);
            if (i === 0) primaryDone = true;
          }
        }
      } catch (err) {
        if (isRefusal(err) && !primaryDone) {
          logger.info({ problemId, step: step.name, rule: err.rule }, 'clock step refused; item moved on');
          return { recorded: false, eventIds: [] };
        }
        if (!isRefusal(err)) throw err;
      }
      if (batch.length > 0) {
        try {
          await store.append(problemStreamId(problemId), batch, expected.exact(loaded.revision));
        } catch (err) {
          // Someone appended meanwhile (a cadre acknowledging, a supervisor clearing): decide again.
          if (err instanceof WrongExpectedVersionError && attempt < 20) continue;
          throw err;
        }
      }
      return { recorded: primaryDone, eventIds: ids };
    }
  }

  return {
    /** Rebuilds the clock of an item from its stream (a fresh workflow run learns where it stands). */
    async loadClock(input: { problemId: string }): Promise<ClockState | undefined> {
      const loaded = await loadProblem(store, input.problemId);
      if (!loaded) return undefined;
      let clock: ClockState | undefined;
      for (const e of loaded.events) {
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
      const loaded = await loadProblem(store, problemId);
      if (!loaded || loaded.state.status === 'none') throw new Error(`problem ${problemId} not found`);
      const p = loaded.state;
      const colourChange = (colour: NonNullable<Step['colour']>, reason: string): ProblemCommand => ({
        type: 'changeColour',
        problemId,
        colour,
        reason,
      });

      if (step.kind === 'escalation') {
        const { ladder, units } = await escalationLadder(store, p.responsibleUnitId, p.policy.topLevel);
        const target = ladder[step.level - 1];
        if (!target) return { recorded: false, atTop: true };
        const reason =
          step.level === 1
            ? `deadline ${p.deadline} passed without clearing`
            : `still open ${step.level - 1} escalation interval(s) after the deadline ${p.deadline}`;
        const commands: ProblemCommand[] = [
          { type: 'escalate', problemId, level: step.level, toUnitId: target.unitId, reason, colour: 'red' },
        ];
        const result = await appendStepCommands(workflowId, step, commands, units, p.responsibleUnitId, loaded, correlationId);
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
      const units = (await Promise.all(step.recipients.map((id) => readUnit(store, id)))).filter(
        (u): u is UnitNode => u !== undefined,
      );
      const result = await appendStepCommands(workflowId, step, commands, units, p.responsibleUnitId, loaded, correlationId);
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

    ...createReviewActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
