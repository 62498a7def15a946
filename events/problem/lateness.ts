import { compareInstants, dateIn } from '../time.js';

/**
 * The one lateness model: how late the responsible unit is. Counted in calendar days in the policy's time
 * zone (due 30 June: on 1 July it is 1 day overdue), and only while its clock runs: a rectification
 * awaiting verification stops it at the submission, and a cleared item is late no more.
 */
export interface Lateness {
  overdue: boolean;
  /** Calendar days from the deadline's day to the day of measurement; 0 when not overdue. */
  daysOverdue: number;
  /** The deadline that was missed, when overdue. */
  overdueSince: string | null;
}

/** What lateness is read from: the deadline in force and whether (and since when) the clock stands still. */
export interface ResponsibleClock {
  open: boolean;
  deadline: string;
  /** The submission awaiting verification, if any: lateness is measured up to it. */
  stoppedAt: string | null;
  timeZone: string;
}

const onTime: Lateness = { overdue: false, daysOverdue: 0, overdueSince: null };
const DAY_MS = 86_400_000;
const dayNumber = (date: string) => Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS;

/** Lateness against `deadline` measured at `at`. */
export function latenessAt(deadline: string, at: string, timeZone: string): Lateness {
  if (compareInstants(at, deadline) <= 0) return onTime;
  return {
    overdue: true,
    daysOverdue: dayNumber(dateIn(at, timeZone)) - dayNumber(dateIn(deadline, timeZone)),
    overdueSince: deadline,
  };
}

/** A problem's lateness at `at`. */
export function latenessOf(clock: ResponsibleClock, at: string): Lateness {
  if (!clock.open) return onTime;
  const measuredAt = clock.stoppedAt !== null && compareInstants(clock.stoppedAt, at) < 0 ? clock.stoppedAt : at;
  return latenessAt(clock.deadline, measuredAt, clock.timeZone);
}
