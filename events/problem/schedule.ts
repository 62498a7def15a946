import { addDuration, subtractDuration, toEpochMs } from '../time.js';
import type { EscalationPolicy, Severity } from './policy.js';
import { timingsFor, verifyWithinOf } from './timings.js';

/**
 * When each step of a problem's clock falls due, from its frozen policy. The clock (workflows/clock.ts)
 * schedules its timers with these, and the decider checks with the same functions that a step it is
 * asked to record is due.
 */

interface Timed {
  policy: EscalationPolicy;
  severity: Severity;
}
interface Clocked extends Timed {
  deadline: string;
}

/** When the acknowledge window that opened at `since` (finding or reopening) lapses. */
export const acknowledgeDueAt = (p: Timed, since: string): string =>
  addDuration(since, timingsFor(p.policy, p.severity).acknowledgeWithin, p.policy.timeZone);

/** The blue reminders before the deadline, earliest first, each with the offset it is for. */
export function deadlineReminders(p: Clocked): { offset: string; at: string }[] {
  return timingsFor(p.policy, p.severity)
    .reminderOffsets.map((offset) => ({ offset, at: subtractDuration(p.deadline, offset, p.policy.timeZone) }))
    .sort((a, b) => toEpochMs(a.at) - toEpochMs(b.at));
}

/** When the escalation to `level` falls due: at the deadline for level 1, one policy interval later per level. */
export function escalationDueAt(p: Clocked, level: number): string {
  const { escalationInterval } = timingsFor(p.policy, p.severity);
  let at = p.deadline;
  for (let i = 1; i < level; i++) at = addDuration(at, escalationInterval, p.policy.timeZone);
  return at;
}

/** When the n-th overdue reminder (n >= 1) at `level` falls due: one repeat interval apart from reaching it. */
export function overdueReminderDueAt(p: Clocked, level: number, n: number): string {
  const { repeatReminderEvery } = timingsFor(p.policy, p.severity);
  let at = escalationDueAt(p, level);
  for (let i = 0; i < n; i++) at = addDuration(at, repeatReminderEvery, p.policy.timeZone);
  return at;
}

/**
 * How many overdue reminders at `level` fell due before `at`: those a clock that started later (an item
 * recorded after its deadline) does not send late. Bounded, so a decade-old deadline costs little.
 */
export function overdueRemindersBefore(p: Clocked, level: number, at: string): number {
  let n = 0;
  while (n < 10_000 && toEpochMs(overdueReminderDueAt(p, level, n + 1)) < toEpochMs(at)) n++;
  return n;
}

/** When a measure's assignee is reminded that its deadline approaches: the policy's nearest offset before it. */
export function measureReminderDueAt(p: Timed, measureDeadline: string): string | undefined {
  const [nearest] = deadlineReminders({ ...p, deadline: measureDeadline }).slice(-1);
  return nearest?.at;
}

/** When the verification window of a rectification submitted at `submittedAt` lapses. */
export const verificationDueAt = (policy: EscalationPolicy, submittedAt: string): string =>
  addDuration(submittedAt, verifyWithinOf(policy), policy.timeZone);
