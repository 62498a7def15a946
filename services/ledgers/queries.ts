import { invalid, notFound } from '../../events/errors.js';
import { problemStreamId } from '../../events/problem/events.js';
import { toEpochMs } from '../../events/time.js';
import type { EventStore } from '../ports/event-store.js';
import type {
  AsOf,
  Collection,
  Colour,
  EscalationBoard,
  LedgerQueries,
  Page,
  ProblemLedgerItem,
  ProblemQuery,
  ProblemRow,
  ReadModelReader,
  ReadModelStore,
  RowOf,
  UnitRollup,
  UnitRow,
} from '../ports/read-model.js';
import { memoryReader } from './memory-reader.js';
import { problemLateness } from './problem-ledger.js';
import { createInspector, type Inspector } from './replay.js';
import { toRollup } from './unit-rollup.js';
import { historyEventOf } from '../audit/history.js';

export interface LedgerQueryDeps {
  eventStore: EventStore;
  readModel: ReadModelStore;
  /** The clock lateness is measured against when no `asOf` is given. */
  now?: () => Date;
  inspector?: Inspector;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

const encodeCursor = (key: string) => Buffer.from(key, 'utf8').toString('base64url');
function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid('ledger.cursor', 'the cursor is not one this API handed out');
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
function pageLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw invalid('ledger.limit', `limit must be 1..${MAX_LIMIT}`);
  return n;
}

interface View {
  reader: ReadModelReader;
  position: bigint;
  atMs: number;
}

/** Rows in key order that pass `keep`, at most `limit`, resuming after the cursor. */
async function pageOf<C extends Collection, T>(
  reader: ReadModelReader,
  collection: C,
  unitId: string,
  cursor: string | undefined,
  limit: number,
  keep: (row: RowOf[C]) => boolean,
  keyOf: (row: RowOf[C]) => string,
  map: (row: RowOf[C]) => T,
): Promise<{ items: T[]; nextCursor?: string }> {
  const items: T[] = [];
  let after = decodeCursor(cursor);
  const chunk = Math.max(limit * 2, 200);
  for (;;) {
    const rows = await reader.listSubtree(collection, unitId, { afterKey: after, limit: chunk });
    for (const row of rows) {
      after = keyOf(row);
      if (!keep(row)) continue;
      items.push(map(row));
      if (items.length === limit) return { items, nextCursor: encodeCursor(after) };
    }
    if (rows.length < chunk) return { items };
  }
}

/** Every row in the subtree, in key order, read in chunks (exports). */
async function* everyRow<C extends Collection>(reader: ReadModelReader, collection: C, unitId: string, keyOf: (row: RowOf[C]) => string) {
  let after: string | undefined;
  for (;;) {
    const rows = await reader.listSubtree(collection, unitId, { afterKey: after, limit: 1000 });
    for (const row of rows) yield row;
    if (rows.length < 1000) return;
    after = keyOf(rows[rows.length - 1]!);
  }
}

async function* filtered<T, U>(rows: AsyncIterable<T>, keep: (row: T) => boolean, map: (row: T) => U): AsyncGenerator<U> {
  for await (const row of rows) if (keep(row)) yield map(row);
}

const problemFilter = (query: ProblemQuery, atMs: number) => (row: ProblemRow) =>
  (query.responsibleUnitId === undefined || row.responsibleUnitId === query.responsibleUnitId) &&
  (query.status === undefined || row.status === query.status) &&
  (query.colour === undefined || row.colour === query.colour) &&
  (query.open === undefined || row.open === query.open) &&
  (query.overdue === undefined || problemLateness(row, atMs).overdue === query.overdue);

export function problemItem(row: ProblemRow, atMs: number): ProblemLedgerItem {
  const { measures: _measures, ancestors: _ancestors, ...rest } = row;
  return { ...rest, ...problemLateness(row, atMs) };
}

export function createLedgerQueries(deps: LedgerQueryDeps): LedgerQueries {
  const now = deps.now ?? (() => new Date());
  const inspector = deps.inspector ?? createInspector(deps);

  async function view(at: AsOf & { unitId: string }): Promise<View> {
    if (at.asOf !== undefined || at.position !== undefined) {
      const asOfMs = at.asOf === undefined ? undefined : toEpochMs(at.asOf);
      const state = await inspector.stateAt({ time: at.asOf, position: at.position, unitId: at.unitId });
      const atMs = asOfMs ?? (state.recordedAt === null ? now().getTime() : Date.parse(state.recordedAt));
      return { reader: memoryReader(state), position: state.position, atMs };
    }
    // Pin one keyspace for the whole answer, so a rebuild switching over mid-query cannot mix two.
    const reader = deps.readModel.keyspace(await deps.readModel.activeKeyspace());
    return { reader, position: await reader.checkpoint(), atMs: now().getTime() };
  }

  async function unitOf(reader: ReadModelReader, unitId: string): Promise<UnitRow> {
    const unit = await reader.get('unit', unitId);
    if (!unit) throw notFound('ledger.unknown_unit', `unit ${unitId} is not on the ledger`, { unitId });
    return unit;
  }

  const stamp = (v: View) => ({ position: v.position.toString(), at: new Date(v.atMs).toISOString() });

  return {
    async problems(query) {
      const limit = pageLimit(query.limit);
      const v = await view(query);
      await unitOf(v.reader, query.unitId);
      const page = await pageOf(
        v.reader,
        'problem',
        query.unitId,
        query.cursor,
        limit,
        problemFilter(query, v.atMs),
        (row) => row.problemId,
        (row) => problemItem(row, v.atMs),
      );
      return { ...page, ...stamp(v) } satisfies Page<ProblemLedgerItem>;
    },

    async households(query) {
      const limit = pageLimit(query.limit);
      const v = await view(query);
      await unitOf(v.reader, query.unitId);
      const page = await pageOf(v.reader, 'household', query.unitId, query.cursor, limit, () => true, (r) => r.householdId, (row) => {
        const { plan: _plan, ancestors: _ancestors, ...rest } = row;
        return rest;
      });
      return { ...page, ...stamp(v) };
    },

    async rollup(query) {
      const v = await view(query);
      const unit = await unitOf(v.reader, query.unitId);
      const children = (await v.reader.getMany('unit', unit.children)).filter((c): c is UnitRow => c !== undefined);
      const overdue = await Promise.all([unit, ...children].map((u) => v.reader.countOpenDeadlinesBefore(u.unitId, v.atMs)));
      return {
        unit: toRollup(unit, overdue[0] ?? 0),
        children: children.map((c, i) => toRollup(c, overdue[i + 1] ?? 0)),
        ...stamp(v),
      };
    },

    async escalationBoard(query) {
      const limit = pageLimit(query.limit);
      const v = await view(query);
      await unitOf(v.reader, query.unitId);
      const byLevelAndColour: EscalationBoard['byLevelAndColour'] = {};
      // Active notices are few (one per escalated open problem), so the counts cover the whole subtree.
      let after: string | undefined;
      for (;;) {
        const rows = await v.reader.listSubtree('escalation', query.unitId, { afterKey: after, limit: 1000 });
        for (const row of rows) {
          const level = (byLevelAndColour[String(row.level)] ??= {});
          level[row.colour] = (level[row.colour] ?? 0) + 1;
          after = row.problemId;
        }
        if (rows.length < 1000) break;
      }
      const page = await pageOf(
        v.reader,
        'escalation',
        query.unitId,
        query.cursor,
        limit,
        (row) => (query.level === undefined || row.level === query.level) && (query.colour === undefined || row.colour === (query.colour as Colour)),
        (row) => row.problemId,
        ({ ancestors: _a, ...rest }) => rest,
      );
      return { ...page, byLevelAndColour, ...stamp(v) };
    },

    async listingBoard(query) {
      const limit = pageLimit(query.limit);
      const v = await view(query);
      await unitOf(v.reader, query.unitId);
      const active = query.active ?? true;
      const page = await pageOf(v.reader, 'listing', query.unitId, query.cursor, limit, (row) => row.active === active, (r) => r.listingId, ({ ancestors: _a, ...rest }) => rest);
      return { ...page, ...stamp(v) };
    },

    async scanProblems(query) {
      const v = await view(query);
      await unitOf(v.reader, query.unitId);
      const rows = everyRow(v.reader, 'problem', query.unitId, (r) => r.problemId);
      return { ...stamp(v), rows: filtered(rows, problemFilter(query, v.atMs), (row) => problemItem(row, v.atMs)) };
    },

    async scanHouseholds(query) {
      const v = await view(query);
      await unitOf(v.reader, query.unitId);
      return { ...stamp(v), rows: everyRow(v.reader, 'household', query.unitId, (r) => r.householdId) };
    },

    async scanUnits(query) {
      const v = await view(query);
      await unitOf(v.reader, query.unitId);
      const units = everyRow(v.reader, 'unit', query.unitId, (r) => r.unitId);
      async function* rollups(): AsyncGenerator<UnitRollup> {
        for await (const unit of units) yield toRollup(unit, await v.reader.countOpenDeadlinesBefore(unit.unitId, v.atMs));
      }
      return { ...stamp(v), rows: rollups() };
    },

    async scanEscalations(query) {
      const v = await view(query);
      await unitOf(v.reader, query.unitId);
      const rows = everyRow(v.reader, 'escalation', query.unitId, (r) => r.problemId);
      const keep = (row: RowOf['escalation']) =>
        (query.level === undefined || row.level === query.level) && (query.colour === undefined || row.colour === query.colour);
      return { ...stamp(v), rows: filtered(rows, keep, ({ ancestors: _a, ...rest }) => rest) };
    },

    async scanListings(query) {
      const v = await view(query);
      await unitOf(v.reader, query.unitId);
      const rows = everyRow(v.reader, 'listing', query.unitId, (r) => r.listingId);
      const keep = (row: RowOf['listing']) => query.active === undefined || row.active === query.active;
      return { ...stamp(v), rows: filtered(rows, keep, ({ ancestors: _a, ...rest }) => rest) };
    },

    async itemHistory(problemId) {
      const streamId = problemStreamId(problemId);
      const events = await deps.eventStore.readStream(streamId);
      const verification = await deps.eventStore.verifyStream(streamId);
      return {
        problemId,
        events: events.map(historyEventOf),
        verification: verification.ok
          ? verification
          : { ...verification, brokenAt: { ...verification.brokenAt, position: verification.brokenAt.position.toString() } },
      };
    },
  };
}
