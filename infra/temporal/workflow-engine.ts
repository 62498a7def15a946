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

/** The workflow-engine port on Temporal: signal-with-start of the rectification workflow, and Schedules. */
export function createTemporalWorkflowEngine(deps: { client: Client; taskQueue: string }): WorkflowEngine {
  const { client, taskQueue } = deps;
  return {
    clockEventTypes,
    async deliverToClock(problemId, events) {
      // Started by its ProblemFound (the usual case), the workflow is findable from its first moment.
      // The reactor decoded and upcast the events, so they are ClockEvents.
      const first = events[0];
      if (!first) return;
      const found = first.type === 'ProblemFound' ? applyEvent(undefined, first as ClockEvent) : undefined;
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
