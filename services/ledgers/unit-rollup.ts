import type { Recorded } from './recorded.js';
import { clearanceFlags, isClear } from '../../events/unit/clearance.js';
import type { UnitRegistered } from '../../events/unit/events.js';
import type { RollupCounts, UnitRollup, UnitRow } from '../ports/read-model.js';
import { ApplyError } from './apply-error.js';

/**
 * The unit roll-up: each unit carries counters of its whole subtree. They are kept as sums: whenever a
 * problem, household or listing row changes, the difference of its contribution is added to every unit
 * from the root down to the row's unit. Overdue counts depend on the reading time and are counted at query
 * time from the deadline index instead.
 */
export const emptyCounts = (): RollupCounts => ({
  problemsOpen: 0,
  problemsCleared: 0,
  householdsTotal: 0,
  householdsMeetingStandard: 0,
  householdsMonitored: 0,
  problemMeasuresTotal: 0,
  problemMeasuresCompleted: 0,
  planMeasuresTotal: 0,
  planMeasuresCompleted: 0,
  listingsActive: 0,
});

const counterNames = Object.keys(emptyCounts()) as (keyof RollupCounts)[];

/** after - before, only the counters that moved; empty when nothing changed. */
export function countsDelta(before: Partial<RollupCounts>, after: Partial<RollupCounts>): Partial<RollupCounts> {
  const delta: Partial<RollupCounts> = {};
  for (const name of counterNames) {
    const d = (after[name] ?? 0) - (before[name] ?? 0);
    if (d !== 0) delta[name] = d;
  }
  return delta;
}

export const isEmptyDelta = (delta: Partial<RollupCounts>) => Object.keys(delta).length === 0;

export function addCountsInPlace(counts: RollupCounts, delta: Partial<RollupCounts>): void {
  for (const name in delta) counts[name as keyof RollupCounts] += delta[name as keyof RollupCounts] ?? 0;
}

/** A newly registered unit; its parent (if any) must already be on the ledger. */
export function registerUnitRow(event: Recorded<UnitRegistered>, parent: UnitRow | undefined): UnitRow {
  const d = event.data;
  if (d.parentId !== null && !parent) throw new ApplyError(`unit ${d.unitId} registered under unknown parent ${d.parentId}`);
  return {
    unitId: d.unitId,
    name: d.name,
    level: d.level,
    parentId: d.parentId,
    ancestors: parent ? [...parent.ancestors, d.unitId] : [d.unitId],
    children: [],
    counts: emptyCounts(),
  };
}

/** The roll-up as the ledger shows it, with the overdue count measured at the reading time. */
export function toRollup(row: UnitRow, problemsOverdue: number): UnitRollup {
  const c = row.counts;
  return {
    unitId: row.unitId,
    name: row.name,
    level: row.level,
    parentId: row.parentId,
    problemsOpen: c.problemsOpen,
    problemsOverdue,
    problemsCleared: c.problemsCleared,
    householdsTotal: c.householdsTotal,
    householdsMeetingStandard: c.householdsMeetingStandard,
    householdsMonitored: c.householdsMonitored,
    measuresTotal: c.problemMeasuresTotal + c.planMeasuresTotal,
    measuresCompleted: c.problemMeasuresCompleted + c.planMeasuresCompleted,
    problemMeasuresTotal: c.problemMeasuresTotal,
    problemMeasuresCompleted: c.problemMeasuresCompleted,
    planMeasuresTotal: c.planMeasuresTotal,
    planMeasuresCompleted: c.planMeasuresCompleted,
    listingsActive: c.listingsActive,
    population: row.population ?? null,
    clear: isClear(c),
    clearance: clearanceFlags[row.level],
  };
}
