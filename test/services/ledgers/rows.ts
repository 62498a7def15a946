import { emptyCounts } from '../../../services/ledgers/unit-rollup.js';
import type { ProblemRow, UnitRow } from '../../../services/ports/read-model.js';

/** Ledger rows for the store and snapshot tests: a unit under its ancestors, an open problem in the last. */
export const unitRow = (unitId: string, ancestors: string[], level: UnitRow['level'] = 'village'): UnitRow => ({
  unitId,
  name: `单位${unitId}`,
  level,
  parentId: ancestors.at(-2) ?? null,
  ancestors,
  children: [],
  counts: emptyCounts(),
});

export const problemRow = (problemId: string, ancestors: string[], fields: Partial<ProblemRow> = {}): ProblemRow => ({
  problemId,
  unitId: ancestors.at(-1)!,
  responsibleUnitId: ancestors.at(-1)!,
  ancestors,
  category: 'housing',
  source: 'inspection',
  severity: 'low',
  description: '危房未改造',
  deadline: '2020-06-30T15:59:59.999Z',
  status: 'open',
  acknowledged: false,
  open: true,
  colour: 'none',
  escalationLevel: 0,
  measuresTotal: 0,
  measuresDone: 0,
  measures: {},
  foundAt: '2020-01-01T00:00:00.000Z',
  clearedAt: null,
  reopenCount: 0,
  missedDeadlines: [],
  lastEventAt: '2020-01-01T00:00:00.000Z',
  ...fields,
});
