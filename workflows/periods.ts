import { addDuration, dateIn, formatInstant, resolveDeadline, toEpochMs } from '../events/time.js';

/**
 * Reporting periods in the deployment's time zone. Pure (used inside workflows): the instant is always
 * an argument.
 */

export type ReviewKind = 'monthly_review' | 'daily_report';

/** The period a run at `epochMs` reports on: the day itself for the daily report (每日一报, run in the
 * evening), the month just ended for the monthly review (一月一研判, run early on the 1st). */
export function periodFor(kind: ReviewKind, epochMs: number, timeZone: string): string {
  const today = dateIn(formatInstant(epochMs, timeZone), timeZone);
  if (kind === 'daily_report') return today;
  const [year, month] = today.split('-').map(Number) as [number, number];
  const previous = month === 1 ? { y: year - 1, m: 12 } : { y: year, m: month - 1 };
  return `${previous.y}-${String(previous.m).padStart(2, '0')}`;
}

/** Start (inclusive) and end (exclusive) of a period, as epoch milliseconds. */
export function periodBounds(kind: ReviewKind, period: string, timeZone: string): { start: number; end: number } {
  const firstDay = kind === 'daily_report' ? period : `${period}-01`;
  const start = toEpochMs(resolveDeadline(`${firstDay}T00:00`, timeZone));
  const end = toEpochMs(addDuration(formatInstant(start, timeZone), kind === 'daily_report' ? 'P1D' : 'P1M', timeZone));
  return { start, end };
}
