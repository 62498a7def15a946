import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from './activities.js';
import { periodFor, type ReviewKind } from './periods.js';

export interface CompileReviewsInput {
  kind: ReviewKind;
  timeZone: string;
  /** The period to compile (YYYY-MM or YYYY-MM-DD); default: the one the run's start time falls in. */
  period?: string;
}

const { compileReviews } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' },
});
const { notify } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '6 hours',
  retry: { initialInterval: '2 seconds', maximumInterval: '10 minutes' },
});

/**
 * One run of the monthly review (一月一研判) or the daily report (每日一报), started by a Temporal
 * Schedule: compiles the figures of every unit with open items into an event, then notifies. Running
 * a period twice writes nothing new (event ids are derived from kind, period and unit).
 */
export async function compileReviewsWorkflow(input: CompileReviewsInput): Promise<{ period: string; units: string[] }> {
  const now = Date.now();
  const period = input.period ?? periodFor(input.kind, now, input.timeZone);
  const { units, notifications } = await compileReviews({
    kind: input.kind,
    period,
    timeZone: input.timeZone,
    now: new Date(now).toISOString(),
  });
  const results = await Promise.allSettled(notifications.map((n) => notify(n)));
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed > 0) log.warn('review notifications not delivered', { kind: input.kind, period, failed });
  log.info('reviews compiled', { kind: input.kind, period, units: units.length });
  return { period, units };
}
