import type { Recorded } from './recorded.js';
import type { ProblemEvent } from '../../events/problem/events.js';
import { latenessOf, type Lateness } from '../../events/problem/lateness.js';
import { DEFAULT_TIME_ZONE, toEpochMs } from '../../events/time.js';
import { recordWith } from '../../events/records.js';
import type { ProblemRow, RollupCounts } from '../ports/read-model.js';
import { ApplyError } from './apply-error.js';

/**
 * The problem ledger: one row per problem. `evolve` is pure; lateness is not stored, because it depends on
 * the time the ledger is read at, and is computed by `problemLateness` (the domain's model) at query time.
 */
export function evolveProblemRow(
  row: ProblemRow | undefined,
  event: Recorded<ProblemEvent>,
  /** The units whose subtree holds the problem (events/access.ts); needed only for ProblemFound. */
  unitsHolding: () => string[],
): ProblemRow {
  const at = event.metadata.occurredAt;
  if (event.type === 'ProblemFound') {
    if (row) throw new ApplyError(`problem ${row.problemId} was already found`);
    const d = event.data;
    return {
      problemId: d.problemId,
      unitId: d.targetUnitId,
      responsibleUnitId: d.responsibleUnitId,
      ancestors: unitsHolding(),
      category: d.category,
      source: d.source,
      severity: d.severity,
      description: d.description,
      deadline: d.deadline,
      timeZone: d.policy.timeZone,
      submittedAt: null,
      status: 'open',
      acknowledged: false,
      open: true,
      colour: 'none',
      escalationLevel: 0,
      measuresTotal: 0,
      measuresDone: 0,
      measures: {},
      foundAt: d.foundAt ?? at,
      clearedAt: null,
      reopenCount: 0,
      missedDeadlines: [],
      lastEventAt: at,
    };
  }
  if (!row) throw new ApplyError(`${event.type} for a problem that was never found (${event.streamId})`);
  // One copy of the row per event (each case spreads it once).
  switch (event.type) {
    case 'ProblemAcknowledged':
      return { ...row, lastEventAt: at, acknowledged: true, status: row.status === 'open' ? 'acknowledged' : row.status };
    case 'MeasureAssigned': {
      if (event.data.measureId in row.measures) throw new ApplyError(`measure ${event.data.measureId} assigned twice`);
      return { ...row, lastEventAt: at, measures: recordWith(row.measures, event.data.measureId, false), measuresTotal: row.measuresTotal + 1 };
    }
    case 'MeasureCompleted': {
      if (row.measures[event.data.measureId] !== false) {
        throw new ApplyError(`measure ${event.data.measureId} is unknown or already completed`);
      }
      return { ...row, lastEventAt: at, measures: recordWith(row.measures, event.data.measureId, true), measuresDone: row.measuresDone + 1 };
    }
    case 'RectificationSubmitted':
      return { ...row, lastEventAt: at, status: 'submitted', submittedAt: event.data.submittedAt ?? at };
    case 'RectificationRejected':
      return { ...row, lastEventAt: at, status: row.acknowledged ? 'acknowledged' : 'open', submittedAt: null };
    case 'ProblemCleared':
      return {
        ...row, lastEventAt: at,
        status: 'cleared',
        open: false,
        colour: 'none',
        clearedAt: event.data.clearedAt,
        missedDeadlines: missed(row, event.data.clearedAt),
      };
    case 'ProblemReopened':
      // A look-back reopens with a new deadline: the clock restarts, escalation starts over.
      return {
        ...row, lastEventAt: at,
        status: 'open',
        acknowledged: false,
        open: true,
        colour: 'none',
        escalationLevel: 0,
        deadline: event.data.deadline,
        submittedAt: null,
        clearedAt: null,
        reopenCount: row.reopenCount + 1,
      };
    case 'DeadlineExtended':
      return {
        ...row, lastEventAt: at,
        deadline: event.data.deadline,
        // The lateness already incurred stays on record; the new deadline starts a fresh clock.
        missedDeadlines: missed(row, at),
        colour: 'none',
        escalationLevel: 0,
      };
    case 'ReminderIssued':
      return { ...row, lastEventAt: at };
    case 'ProblemEscalated':
      // A lapsed verification window is the verifier's: the item's level and colour stay.
      if (event.data.stage === 'verification') return { ...row, lastEventAt: at };
      return { ...row, lastEventAt: at, escalationLevel: Math.max(row.escalationLevel, event.data.level), colour: event.data.colour };
    case 'WarningColourChanged':
      return { ...row, lastEventAt: at, colour: event.data.colour };
    default: {
      const unknown: never = event;
      throw new ApplyError(`unhandled problem event ${(unknown as { type: string }).type}`);
    }
  }
}

/** Adds the current deadline to the missed list when `at` is past it. */
function missed(row: ProblemRow, at: string): string[] {
  const late = toEpochMs(at) > toEpochMs(row.deadline) && !row.missedDeadlines.includes(row.deadline);
  return late ? [...row.missedDeadlines, row.deadline] : row.missedDeadlines;
}

/**
 * From when the row counts as overdue, for the roll-up's deadline index: the deadline of an open item,
 * unless a rectification submitted on time awaits verification (then never, until it is rejected).
 */
export function overdueFrom(row: Pick<ProblemRow, 'open' | 'deadline' | 'status' | 'submittedAt'>): string | null {
  if (!row.open) return null;
  const stoppedAt = row.status === 'submitted' ? (row.submittedAt ?? null) : null;
  return stoppedAt !== null && toEpochMs(stoppedAt) <= toEpochMs(row.deadline) ? null : row.deadline;
}

/** How late the responsible unit is at `atMs` (calendar days in the policy's zone, stopped by a submission). */
export function problemLateness(
  row: Pick<ProblemRow, 'open' | 'deadline' | 'status' | 'submittedAt' | 'timeZone'>,
  atMs: number,
): Lateness {
  const stoppedAt = row.status === 'submitted' ? (row.submittedAt ?? null) : null;
  const clock = { open: row.open, deadline: row.deadline, stoppedAt, timeZone: row.timeZone ?? DEFAULT_TIME_ZONE };
  return latenessOf(clock, new Date(atMs).toISOString());
}

/** What one problem adds to the roll-up of every unit above it. */
export function problemContribution(row: ProblemRow | undefined): Partial<RollupCounts> {
  if (!row) return {};
  return {
    problemsOpen: row.open ? 1 : 0,
    problemsCleared: row.open ? 0 : 1,
    problemMeasuresTotal: row.measuresTotal,
    problemMeasuresCompleted: row.measuresDone,
  };
}
