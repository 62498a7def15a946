import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Logger } from 'pino';
import { DEFAULT_TIME_ZONE } from '../events/time.js';
import type { CompileReviewsInput } from '../workflows/review.workflow.js';

/** Ids of the two schedules (one each per deployment/namespace). */
export const MONTHLY_REVIEW_SCHEDULE_ID = 'duban-monthly-review';
export const DAILY_REPORT_SCHEDULE_ID = 'duban-daily-report';
export const compileReviewsWorkflowType = 'compileReviewsWorkflow';

export interface ScheduleDeps {
  temporal: Client;
  taskQueue: string;
  logger: Logger;
  /** Zone the calendars are read in, and of the reporting periods. Default Asia/Shanghai. */
  timeZone?: string;
  /** Daily report time (每日一报), local. Default 18:00. */
  dailyAt?: { hour: number; minute: number };
  /** Monthly review time on the 1st (一月一研判, on the month just ended), local. Default 09:00. */
  monthlyAt?: { hour: number; minute: number };
}

/** What the two schedules are: calendars in the deployment's zone, one run at a time, catch up a day. */
export function reviewScheduleOptions(deps: ScheduleDeps): ScheduleOptions[] {
  const timeZone = deps.timeZone ?? DEFAULT_TIME_ZONE;
  const daily = deps.dailyAt ?? { hour: 18, minute: 0 };
  const monthly = deps.monthlyAt ?? { hour: 9, minute: 0 };
  const action = (kind: CompileReviewsInput['kind'], workflowId: string) => ({
    type: 'startWorkflow' as const,
    workflowType: compileReviewsWorkflowType,
    workflowId,
    taskQueue: deps.taskQueue,
    args: [{ kind, timeZone } satisfies CompileReviewsInput],
  });
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' as const };
  return [
    {
      scheduleId: MONTHLY_REVIEW_SCHEDULE_ID,
      spec: { calendars: [{ dayOfMonth: 1, hour: monthly.hour, minute: monthly.minute }], timezone: timeZone },
      action: action('monthly_review', 'monthly-review'),
      policies,
      memo: { description: '一月一研判: monthly review of every unit with open items' },
    },
    {
      scheduleId: DAILY_REPORT_SCHEDULE_ID,
      spec: { calendars: [{ hour: daily.hour, minute: daily.minute }], timezone: timeZone },
      action: action('daily_report', 'daily-report'),
      policies,
      memo: { description: '每日一报: daily report of every unit with open items' },
    },
  ];
}

/**
 * Creates the monthly review and daily report schedules, or brings existing ones up to date (safe to
 * call at every start). A run compiles its period once: running a period again writes nothing new.
 */
export async function ensureReviewSchedules(deps: ScheduleDeps): Promise<{ scheduleIds: string[] }> {
  const ids: string[] = [];
  for (const options of reviewScheduleOptions(deps)) {
    try {
      await deps.temporal.schedule.create(options);
      deps.logger.info({ scheduleId: options.scheduleId }, 'schedule created');
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await deps.temporal.schedule.getHandle(options.scheduleId).update((previous) => ({
        ...previous,
        spec: options.spec,
        action: options.action,
        policies: { ...previous.policies, ...options.policies },
      }));
      deps.logger.info({ scheduleId: options.scheduleId }, 'schedule updated');
    }
    ids.push(options.scheduleId);
  }
  return { scheduleIds: ids };
}
