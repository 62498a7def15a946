import { householdDecider, householdStreamId, type HouseholdEvent } from '../../events/household/index.js';
import { decodeEvent } from '../../events/registry.js';
import { StreamNotFoundError, type EventStore } from '../ports/event-store.js';
import type { AsOf, Colour, HouseholdRow, LedgerQueries, LedgerScan, ProblemQuery } from '../ports/read-model.js';
import type { Sheet, SheetHeading } from '../spreadsheets/write.js';
import type { ReviewAnswer } from '../reviews/index.js';
import {
  candidateColumns,
  escalationColumns,
  reviewColumns,
  householdColumns,
  listingColumns,
  planMeasureColumns,
  problemColumns,
  unitColumns,
  type ColumnContext,
  type PlanMeasureRow,
} from './columns.js';

export interface LedgerExportDeps {
  ledgers: LedgerQueries;
  store: EventStore;
  nameOf(unitId: string): string | undefined;
  timeZone: string;
}

/** A ledger ready to be written: the heading above the table and one or more sheets. */
export interface LedgerWorkbook {
  /** File name without extension. */
  name: string;
  /** The event position the rows reflect. */
  position: string;
  heading: SheetHeading;
  sheets: Sheet<never>[];
}

/** Households whose plans are read together: their streams are asked for at once, then folded. */
const PLAN_BATCH = 64;

/** One household's plan measures as they stood at `position`, folded from its stream. */
async function planOf(store: EventStore, household: HouseholdRow, position: bigint): Promise<PlanMeasureRow[]> {
  let events;
  try {
    events = await store.readStream(householdStreamId(household.householdId));
  } catch (err) {
    if (err instanceof StreamNotFoundError) return [];
    throw err;
  }
  let state = householdDecider.initialState;
  for (const e of events) {
    if (e.position > position) break;
    state = householdDecider.evolve(state, decodeEvent(e.type, e.metadata.schemaVersion, e.data) as HouseholdEvent);
  }
  if (state.status !== 'registered') return [];
  return Object.values(state.measures).map((m) => ({ householdId: household.householdId, villageId: household.villageId, ...m }));
}

/**
 * The plan measures of each household, folded from its stream up to the position the ledger was read at,
 * in the ledger's order. Households go in batches: a batch's streams are read together (one round trip's
 * wait for a remote store instead of one per household), and the next batch is read while this one is
 * written, so memory holds two batches' plans, not the prefecture's.
 */
export async function* planMeasureRows(store: EventStore, households: AsyncIterable<HouseholdRow>, position: bigint, batchSize = PLAN_BATCH): AsyncGenerator<PlanMeasureRow> {
  const read = (batch: HouseholdRow[]) => Promise.all(batch.map((household) => planOf(store, household, position)));
  let pending: Promise<PlanMeasureRow[][]> | undefined;
  let batch: HouseholdRow[] = [];
  for await (const household of households) {
    if (household.planTotal === 0) continue;
    batch.push(household);
    if (batch.length < batchSize) continue;
    const previous = pending;
    pending = read(batch);
    // A failed read of a later batch is seen when it is awaited, not as an unhandled rejection meanwhile.
    void pending.catch(() => undefined);
    batch = [];
    if (previous) for (const plan of await previous) yield* plan;
  }
  if (pending) for (const plan of await pending) yield* plan;
  if (batch.length > 0) for (const plan of await read(batch)) yield* plan;
}

/** The ledgers (台账) as workbooks: the same filters and moment as the JSON routes, every row. */
export function createLedgerExports(deps: LedgerExportDeps) {
  const ctx: ColumnContext = { nameOf: deps.nameOf, timeZone: deps.timeZone };

  function heading(title: string, unitId: string, at: AsOf, scan: Pick<LedgerScan<unknown>, 'position' | 'at'>, filters: Record<string, unknown> = {}): SheetHeading {
    const moment =
      at.asOf !== undefined
        ? `截至 ${at.asOf}（as of）`
        : at.position !== undefined
          ? `截至事件位置 ${at.position}（as of position）`
          : `实时（live），读取于 ${scan.at}`;
    const shown = Object.entries(filters).filter(([, v]) => v !== undefined);
    return {
      title,
      lines: [
        `单位：${deps.nameOf(unitId) ?? unitId}（${unitId}）`,
        `时点：${moment}`,
        `读取位置：${scan.position}；逾期按 ${scan.at} 计`,
        ...(shown.length > 0 ? [`筛选：${shown.map(([k, v]) => `${k}=${String(v)}`).join('，')}`] : []),
      ],
    };
  }
  const sheet = <T>(name: string, columns: Sheet<T>['columns'], rows: AsyncIterable<T>) => ({ name, columns, rows }) as unknown as Sheet<never>;

  return {
    async problems(query: Omit<ProblemQuery, 'limit' | 'cursor'>): Promise<LedgerWorkbook> {
      const scan = await deps.ledgers.scanProblems(query);
      const { unitId, asOf: _a, position: _p, ...filters } = query;
      return { name: 'problems', position: scan.position, heading: heading('问题台账', unitId, query, scan, filters), sheets: [sheet('问题台账', problemColumns(ctx), scan.rows)] };
    },

    /** Households, and (in a workbook) their plan measures on a second sheet. */
    async households(query: { unitId: string } & AsOf, options: { withMeasures: boolean }): Promise<LedgerWorkbook> {
      const scan = await deps.ledgers.scanHouseholds(query);
      const sheets = [sheet('农户台账', householdColumns(ctx), scan.rows)];
      if (options.withMeasures) {
        // The second sheet reads the households again (the first consumes its rows); plans are cut at the
        // first read's position, so both sheets show the same moment.
        const again = await deps.ledgers.scanHouseholds(query);
        sheets.push(sheet('帮扶措施', planMeasureColumns(ctx), planMeasureRows(deps.store, again.rows, BigInt(scan.position))));
      }
      return { name: 'households', position: scan.position, heading: heading('农户台账（一户一方案）', query.unitId, query, scan), sheets };
    },

    async planMeasures(query: { unitId: string } & AsOf): Promise<LedgerWorkbook> {
      const scan = await deps.ledgers.scanHouseholds(query);
      const rows = planMeasureRows(deps.store, scan.rows, BigInt(scan.position));
      return { name: 'plan-measures', position: scan.position, heading: heading('帮扶措施台账', query.unitId, query, scan), sheets: [sheet('帮扶措施', planMeasureColumns(ctx), rows)] };
    },

    async units(query: { unitId: string } & AsOf): Promise<LedgerWorkbook> {
      const scan = await deps.ledgers.scanUnits(query);
      return { name: 'units', position: scan.position, heading: heading('单位汇总台账', query.unitId, query, scan), sheets: [sheet('单位', unitColumns(), scan.rows)] };
    },

    /** A review's figures for the unit and every unit beneath it, and the listing candidates. */
    review(answer: ReviewAnswer): LedgerWorkbook {
      const period = answer.period.kind === 'monthly' ? answer.period.month : answer.period.day;
      const title = answer.period.kind === 'monthly' ? `一月一研判 ${period}` : `每日一报 ${period}`;
      const at = answer.live ? {} : { asOf: answer.at };
      const scan = { position: answer.position, at: answer.at };
      async function* rows<T>(items: readonly T[]) {
        yield* items;
      }
      return {
        name: `review-${answer.period.kind}-${period}`,
        position: answer.position,
        heading: heading(title, answer.unitId, at, scan, { thresholdsVersion: answer.thresholdsVersion }),
        sheets: [
          sheet('研判汇总', reviewColumns(), rows([answer.unit, ...answer.units])),
          sheet('挂牌候选', candidateColumns(), rows(answer.candidates)),
        ],
      };
    },

    async escalations(query: { unitId: string; level?: number; colour?: Colour } & AsOf): Promise<LedgerWorkbook> {
      const scan = await deps.ledgers.scanEscalations(query);
      const { unitId, asOf: _a, position: _p, ...filters } = query;
      return { name: 'escalations', position: scan.position, heading: heading('督办单', unitId, query, scan, filters), sheets: [sheet('督办单', escalationColumns(ctx), scan.rows)] };
    },

    async listings(query: { unitId: string; active?: boolean } & AsOf): Promise<LedgerWorkbook> {
      const scan = await deps.ledgers.scanListings(query);
      const { unitId, asOf: _a, position: _p, ...filters } = query;
      return { name: 'listings', position: scan.position, heading: heading('挂牌督战台账', unitId, query, scan, filters), sheets: [sheet('挂牌督战', listingColumns(ctx), scan.rows)] };
    },
  };
}
export type LedgerExports = ReturnType<typeof createLedgerExports>;
