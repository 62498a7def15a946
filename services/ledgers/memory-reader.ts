import type { Collection, ReadModelReader, RowOf, SubtreePage } from '../ports/read-model.js';
import { type LedgerState, openDeadlinesBeforeByUnit } from './state.js';

/**
 * Reads a ledger state held in memory (an inspection's "as of" state) through the same interface as the
 * stores, so every query is written once.
 */
export function memoryReader(state: LedgerState): ReadModelReader {
  // Sorted key lists per collection are built on first use: an as-of state is read a few times, then dropped.
  const sortedKeys = new Map<Collection, string[]>();
  const keysOf = (collection: Collection) => {
    let keys = sortedKeys.get(collection);
    if (!keys) {
      keys = [...state.rows[collection].keys()]
        .map((k) => ({ k, b: Buffer.from(k, 'utf8') }))
        .sort((x, y) => Buffer.compare(x.b, y.b))
        .map((x) => x.k);
      sortedKeys.set(collection, keys);
    }
    return keys;
  };
  // A roll-up asks for a unit and each of its children at the same moment: one pass over the problems counts
  // them all (recounted if the state moved on, or for another moment).
  let overdue: { epochMs: number; position: bigint; byUnit: Map<string, number> } | undefined;
  return {
    async get<C extends Collection>(collection: C, key: string) {
      return state.rows[collection].get(key) as RowOf[C] | undefined;
    },
    async getMany<C extends Collection>(collection: C, keys: readonly string[]) {
      return keys.map((k) => state.rows[collection].get(k) as RowOf[C] | undefined);
    },
    async listSubtree<C extends Collection>(collection: C, unitId: string, page: SubtreePage) {
      const after = page.afterKey === undefined ? undefined : Buffer.from(page.afterKey, 'utf8');
      const map = state.rows[collection] as Map<string, RowOf[C]>;
      const out: RowOf[C][] = [];
      for (const key of keysOf(collection)) {
        if (after && Buffer.compare(Buffer.from(key, 'utf8'), after) <= 0) continue;
        const row = map.get(key);
        if (row && row.ancestors.includes(unitId)) out.push(row);
        if (out.length >= page.limit) break;
      }
      return out;
    },
    async countOpenDeadlinesBefore(unitId: string, epochMs: number) {
      if (overdue?.epochMs !== epochMs || overdue.position !== state.position) {
        overdue = { epochMs, position: state.position, byUnit: openDeadlinesBeforeByUnit(state.rows.problem, epochMs) };
      }
      return overdue.byUnit.get(unitId) ?? 0;
    },
    async checkpoint() {
      return state.position;
    },
  };
}

/** Byte order of the UTF-8 keys, the order Redis ZRANGEBYLEX and SQLite's BINARY collation use. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
