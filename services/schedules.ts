import type { Logger } from 'pino';
import { DEFAULT_TIME_ZONE } from '../events/time.js';
import type { ReviewSchedule, WorkflowEngine } from './ports/workflow-engine.js';

/** Ids of the two schedules (one each per deployment/namespace). */
export const MONTHLY_REVIEW_SCHEDULE_ID = 'duban-monthly-review';
export const DAILY_REPORT_SCHEDULE_ID = 'duban-daily-report';

export interface ScheduleDeps {
  workflows: WorkflowEngine;
  logger: Logger;
  /** Zone the calendars are read in, and of the reporting periods. Default Asia/Shanghai. */
  timeZone?: string;
  /** Daily report time (每日一报), local. Default 18:00. */
  dailyAt?: { hour: number; minute: number };
  /** Monthly review time on the 1st (一月一研判, on the month just ended), local. Default 09:00. */
  monthlyAt?: { hour: number; minute: number };
}

/** What the two schedules are: calendars in the deployment's zone. */
export function reviewSchedules(deps: Omit<ScheduleDeps, 'workflows' | 'logger'>): ReviewSchedule[] {
  const timeZone = deps.timeZone ?? DEFAULT_TIME_ZONE;
  const daily = deps.dailyAt ?? { hour: 18, minute: 0 };
  const monthly = deps.monthlyAt ?? { hour: 9, minute: 0 };
  return [
    {
      scheduleId: MONTHLY_REVIEW_SCHEDULE_ID,
      kind: 'monthly_review',
      calendar: { dayOfMonth: 1, ...monthly },
      timeZone,
      description: '一月一研判: monthly review of every unit with open items',
    },
    {
      scheduleId: DAILY_REPORT_SCHEDULE_ID,
      kind: 'daily_report',
      calendar: daily,
      timeZone,
      description: '每日一报: daily report of every unit with open items',
    },
  ];
}

/**
 * Creates the monthly review and daily report schedules, or brings existing ones up to date (safe to
 * call at every start). A run compiles its period once: running a period again writes nothing new.
 */
export async function ensureReviewSchedules(deps: ScheduleDeps): Promise<{ scheduleIds: string[] }> {
  const ids: string[] = [];
  for (const schedule of reviewSchedules(deps)) {
    const outcome = await deps.workflows.upsertReviewSchedule(schedule);
    deps.logger.info({ scheduleId: schedule.scheduleId }, `schedule ${outcome}`);
    ids.push(schedule.scheduleId);
  }
  return { scheduleIds: ids };
}
