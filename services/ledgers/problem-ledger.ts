import type { Recorded } from './recorded.js';
import type { ProblemEvent } from '../../events/problem/events.js';
import { toEpochMs } from '../../events/time.js';
import type { ProblemRow, RollupCounts } from '../ports/read-model.js';
import { ApplyError } from './apply-error.js';

/**
 * The problem ledger: one row per problem. `evolve` is pure; lateness (days overdue) is not stored, because
 * it depends on the time the ledger is read at, and is computed by `daysOverdue` at query time.
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
      status: 'open',
      acknowledged: false,
      open: true,
      colour: 'none',
      escalationLevel: 0,
      measuresTotal: 0,
      measuresDone: 0,
      measures: {},
      foundAt: at,
      clearedAt: null,
      reopenCount: 0,
      missedDeadlines: [],
      lastEventAt: at,
    };
  }
  if (!row) throw new ApplyError(`${event.type} for a problem that was never found (${event.streamId})`);
  const next: ProblemRow = { ...row, lastEventAt: at };
  switch (event.type) {
    case 'ProblemAcknowledged':
      return { ...next, acknowledged: true, status: row.status === 'open' ? 'acknowledged' : row.status };
    case 'MeasureAssigned': {
      if (event.data.measureId in row.measures) throw new ApplyError(`measure ${event.data.measureId} assigned twice`);
      return { ...next, measures: { ...row.measures, [event.data.measureId]: false }, measuresTotal: row.measuresTotal + 1 };
    }
    case 'MeasureCompleted': {
      if (row.measures[event.data.measureId] !== false) {
        throw new ApplyError(`measure ${event.data.measureId} is unknown or already completed`);
      }
      return { ...next, measures: { ...row.measures, [event.data.measureId]: true }, measuresDone: row.measuresDone + 1 };
    }
    case 'RectificationSubmitted':
      return { ...next, status: 'submitted' };
    case 'RectificationRejected':
      return { ...next, status: row.acknowledged ? 'acknowledged' : 'open' };
    case 'ProblemCleared':
      return {
        ...next,
        status: 'cleared',
        open: false,
        colour: 'none',
        clearedAt: event.data.clearedAt,
        missedDeadlines: missed(row, event.data.clearedAt),
      };
    case 'ProblemReopened':
      // A look-back reopens with a new deadline: the clock restarts, escalation starts over.
      return {
        ...next,
        status: 'open',
        acknowledged: false,
        open: true,
        colour: 'none',
        escalationLevel: 0,
        deadline: event.data.deadline,
        clearedAt: null,
        reopenCount: row.reopenCount + 1,
      };
    case 'DeadlineExtended':
      return {
        ...next,
        deadline: event.data.deadline,
        // The lateness already incurred stays on record; the new deadline starts a fresh clock.
        missedDeadlines: missed(row, at),
        colour: 'none',
        escalationLevel: 0,
      };
    case 'ReminderIssued':
      return next;
    case 'ProblemEscalated':
      return { ...next, escalationLevel: Math.max(row.escalationLevel, event.data.level), colour: event.data.colour };
    case 'WarningColourChanged':
      return { ...next, colour: event.data.colour };
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

const DAY_MS = 86_400_000;

/** Whole or started days past the deadline, measured at `atMs`; 0 when not open or not late. */
export function daysOverdue(row: Pick<ProblemRow, 'open' | 'deadline'>, atMs: number): number {
  if (!row.open) return 0;
  const late = atMs - toEpochMs(row.deadline);
  return late > 0 ? Math.ceil(late / DAY_MS) : 0;
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
