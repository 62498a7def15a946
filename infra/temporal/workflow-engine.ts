import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { ReviewSchedule, WorkflowEngine } from '../../services/ports/workflow-engine.js';
import { applyEvent, clockEventTypes, type ClockEvent } from '../../workflows/clock.js';
import {
  problemEventsSignal,
  rectificationWorkflowId,
  rectificationWorkflowType,
  type RectificationInput,
} from '../../workflows/rectification.contract.js';
import type { CompileReviewsInput } from '../../workflows/review.workflow.js';
import { searchAttributesOf } from '../../workflows/search-attributes.js';
import { backlogGate } from './backlog.js';

export const compileReviewsWorkflowType = 'compileReviewsWorkflow';

/** A review schedule as Temporal keeps it: one run at a time, a missed run caught up within a day. */
function scheduleOptions(schedule: ReviewSchedule, taskQueue: string): ScheduleOptions {
  return {
    scheduleId: schedule.scheduleId,
    spec: { calendars: [schedule.calendar], timezone: schedule.timeZone },
    action: {
      type: 'startWorkflow',
      workflowType: compileReviewsWorkflowType,
      workflowId: schedule.kind === 'monthly_review' ? 'monthly-review' : 'daily-report',
      taskQueue,
      args: [{ kind: schedule.kind, timeZone: schedule.timeZone } satisfies CompileReviewsInput],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    memo: { description: schedule.description },
  };
}

export interface TemporalWorkflowEngineDeps {
  client: Client;
  taskQueue: string;
  /**
   * Start a clock whose ProblemFound comes alone with a plain start instead of a signal-with-start, and ask
   * the server to hand its first workflow task straight back (eager start). Needs a client on the
   * `NativeConnection` of a worker of this process polling `taskQueue` (the SDK refuses otherwise); the
   * server falls back to the task queue when that worker has no free slot. Default false.
   */
  eagerStart?: boolean;
  /**
   * Deliveries wait (`room()`) while a workflow task has waited on `taskQueue` longer than this, in ms
   * (default 200): the clocks' workers are behind, and what is delivered now would queue behind them.
   */
  maxBacklogAgeMs?: number;
}

const DEFAULT_MAX_BACKLOG_AGE_MS = 200;

/** The workflow-engine port on Temporal: starts and signals of the rectification workflow, and Schedules. */
export function createTemporalWorkflowEngine(deps: TemporalWorkflowEngineDeps): WorkflowEngine {
  const { client, taskQueue } = deps;
  const eagerStart = deps.eagerStart ?? false;
  return {
    clockEventTypes,
    room: backlogGate(client, taskQueue, { maxAgeMs: deps.maxBacklogAgeMs ?? DEFAULT_MAX_BACKLOG_AGE_MS }),
    async deliverToClock(problemId, events) {
      // Started by its ProblemFound (the usual case), the workflow is findable from its first moment.
      // The reactor decoded and upcast the events, so they are ClockEvents.
      const first = events[0];
      if (!first) return;
      const found = first.type === 'ProblemFound' ? applyEvent(undefined, first as ClockEvent) : undefined;
      if (found && events.length === 1 && eagerStart) {
        // The new run reads the stream, which holds the ProblemFound, so it needs no signal; a run already
        // going (a redelivery) has it too. A finished run (cleared) gets a new one that finds it cleared
        // and stops, as a signal-with-start would.
        await client.workflow.start(rectificationWorkflowType, {
          workflowId: rectificationWorkflowId(problemId),
          taskQueue,
          typedSearchAttributes: searchAttributesOf(found),
          args: [{ problemId, loadInFirstTask: true } satisfies RectificationInput],
          workflowIdConflictPolicy: 'USE_EXISTING',
          requestEagerStart: true,
        });
        return;
      }
      await client.workflow.signalWithStart(rectificationWorkflowType, {
        workflowId: rectificationWorkflowId(problemId),
        taskQueue,
        ...(found ? { typedSearchAttributes: searchAttributesOf(found) } : {}),
        args: [{ problemId } satisfies RectificationInput],
        signal: problemEventsSignal,
        signalArgs: [events as ClockEvent[]],
      });
    },
    async upsertReviewSchedule(schedule) {
      const options = scheduleOptions(schedule, taskQueue);
      try {
        await client.schedule.create(options);
        return 'created';
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        await client.schedule.getHandle(options.scheduleId).update((previous) => ({
          ...previous,
          spec: options.spec,
          action: options.action,
          policies: { ...previous.policies, ...options.policies },
        }));
        return 'updated';
      }
    },
  };
}
