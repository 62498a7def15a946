import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../events/envelope.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../../../infra/sqlite/read-model.js';
import { decodeRecorded } from '../../../services/ledgers/decode.js';
import { memoryReader } from '../../../services/ledgers/memory-reader.js';
import { createInspector } from '../../../services/ledgers/replay.js';
import { rebuildLedgers } from '../../../services/ledgers/runner.js';
import { applyEvent, createLedgerState, type LedgerState, skipEvent } from '../../../services/ledgers/state.js';
import type { EventStore } from '../../../services/ports/event-store.js';
import { collections, type ReadModelStore } from '../../../services/ports/read-model.js';
import { type PrefectureSummary, seedPrefecture, simulatedClock } from '../../fixtures/prefecture.js';

/**
 * An inspection of one unit as of a moment (a position or a time) starts from the nearest snapshot, full or
 * delta, and skips the events that cannot touch the unit's branch of the tree without decoding them. Whatever
 * the moment and the unit, what it answers for the unit's subtree must be what a replay of every event from
 * zero to that moment gives.
 */
const silent = pino({ level: 'silent' });

/** Every row of the subtree of `unitId`, by collection and key, and the subtree's overdue counts at `atMs`. */
async function subtreeOf(state: LedgerState, unitId: string, atMs: number) {
  const rows: Record<string, unknown> = {};
  for (const c of collections) {
    for (const [key, row] of state.rows[c]) if (row.ancestors.includes(unitId)) rows[`${c}/${key}`] = row;
  }
  const reader = memoryReader(state);
  const overdue: Record<string, number> = {};
  for (const [key, unit] of state.rows.unit) {
    if (unit.ancestors.includes(unitId)) overdue[key] = await reader.countOpenDeadlinesBefore(key, atMs);
  }
  return { position: state.position, rows, overdue };
}

describe('inspection as of a moment', { timeout: 300_000 }, () => {
  let dir: string;
  let eventStore: EventStore;
  let readModel: ReadModelStore;
  let summary: PrefectureSummary;
  const events: RecordedEvent[] = [];
  /** Replayed states every 100 events (index i: the first i * 100 events), to replay the reference from. */
  const checkpoints: LedgerState[] = [];
  let unitIds: string[] = [];
  let snapshotPositions: bigint[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duban-as-of-'));
    const clock = simulatedClock();
    eventStore = openSqliteEventStore({ path: join(dir, 'events.db'), now: clock.now, synchronous: 'NORMAL' });
    summary = await seedPrefecture(eventStore, clock, {
      seed: 14,
      shape: { counties: 3, townshipsPerCounty: 2, villagesPerTownship: 3, householdsPerVillage: 6 },
      commands: 3_000,
      // Households registered after the first snapshots, and problems that lie in a county only through
      // their responsible village (found on the prefecture): both first events an inspection must place.
      lateHouseholds: 0.3,
      prefectureProblems: 0.1,
    });
    readModel = createSqliteReadModel({ path: join(dir, 'read-model.db') });
    // Snapshots every 150 events, every fourth full, inside batches of 400 and at their ends.
    await rebuildLedgers({ eventStore, readModel, logger: silent, dropGraceMs: 0, batchSize: 400, snapshotEvery: 150, fullSnapshotEvery: 4 });
    for await (const raw of eventStore.readAll()) events.push(raw);
    const state = createLedgerState();
    for (let i = 0; i <= events.length; i++) {
      if (i % 100 === 0) checkpoints.push(structuredClone(state));
      if (i < events.length) replayOne(state, events[i]!);
    }
    unitIds = [...state.rows.unit.keys()];
    const db = (await import('better-sqlite3')).default(join(dir, 'read-model.db'), { readonly: true });
    snapshotPositions = db.prepare<[], { position: number }>('SELECT position FROM rm_snapshot ORDER BY position').all().map((r) => BigInt(r.position));
    db.close();
  }, 300_000);

  afterAll(async () => {
    await readModel?.close();
    await eventStore?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function replayOne(state: LedgerState, raw: RecordedEvent) {
    try {
      applyEvent(state, decodeRecorded(raw));
    } catch {
      skipEvent(state, { position: raw.position, recordedAt: raw.metadata.recordedAt });
    }
  }

  /** Every event before index `end`, replayed from zero (from the nearest replayed checkpoint). */
  function referenceUpTo(end: number): LedgerState {
    const state = structuredClone(checkpoints[Math.floor(end / 100)]!);
    for (let i = Math.floor(end / 100) * 100; i < end; i++) replayOne(state, events[i]!);
    return state;
  }

  it('the history has full and delta snapshots to start from', () => {
    expect(events.length).toBeGreaterThan(2_500);
    expect(unitIds.length).toBe(1 + 3 + 6 + 18);
    expect(snapshotPositions.length).toBeGreaterThan(15);
    const afterFirst = events.filter((e) => e.position > snapshotPositions[0]!);
    expect(afterFirst.filter((e) => e.type === 'HouseholdRegistered').length).toBeGreaterThan(10);
    const onPrefecture = afterFirst.filter((e) => e.type === 'ProblemFound' && (e.data as { targetUnitId: string }).targetUnitId === summary.prefectureId);
    expect(onPrefecture.length).toBeGreaterThan(10);
  });

  it('for any moment and any unit, equals a replay from zero to that moment on the unit\'s subtree', async () => {
    const inspector = createInspector({ eventStore, readModel, cacheSize: 0 });
    // Moments right at, after and before snapshots, before the first, and at the end, besides random ones.
    const at = (position: bigint) => events.findIndex((e) => e.position === position);
    const examples: [number, number, boolean][] = [];
    for (const p of [snapshotPositions[0]!, snapshotPositions[3]!, snapshotPositions[4]!, snapshotPositions[9]!]) {
      for (const d of [-1, 0, 1]) examples.push([at(p) + d, examples.length % unitIds.length, examples.length % 2 === 0]);
    }
    examples.push([0, 0, false], [events.length - 1, 5, false], [events.length - 1, 9, true]);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: events.length - 1 }), fc.nat({ max: unitIds.length - 1 }), fc.boolean(), async (index, u, byTime) => {
        const unitId = unitIds[u]!;
        const event = events[index]!;
        let end = index + 1;
        const point: { position?: bigint; time?: string; unitId: string } = { unitId };
        if (byTime) {
          // The ledgers as that moment passed: every event recorded up to it (the inspection stops at the first later one).
          point.time = event.metadata.recordedAt;
          const t = Date.parse(point.time);
          end = events.findIndex((e) => Date.parse(e.metadata.recordedAt) > t);
          if (end < 0) end = events.length;
        } else {
          point.position = event.position;
        }
        const atMs = Date.parse(event.metadata.recordedAt);
        const inspected = await inspector.stateAt(point);
        expect(await subtreeOf(inspected, unitId, atMs)).toEqual(await subtreeOf(referenceUpTo(end), unitId, atMs));
      }),
      { numRuns: 150, seed: 20261203, examples },
    );
  });

  it('reads the same when a delta\'s base snapshot is gone, starting from an older snapshot', async () => {
    const db = (await import('better-sqlite3')).default(join(dir, 'read-model.db'));
    // The second snapshot is a delta over the first, the third over the second: drop the second.
    db.prepare('DELETE FROM rm_snapshot WHERE position = ?').run(Number(snapshotPositions[1]!));
    db.close();
    const index = events.findIndex((e) => e.position === snapshotPositions[2]!) + 7;
    const inspector = createInspector({ eventStore, readModel, cacheSize: 0 });
    for (const unitId of [summary.prefectureId, summary.countyIds[1]!]) {
      const inspected = await inspector.stateAt({ position: events[index]!.position, unitId });
      const atMs = Date.parse(events[index]!.metadata.recordedAt);
      expect(await subtreeOf(inspected, unitId, atMs)).toEqual(await subtreeOf(referenceUpTo(index + 1), unitId, atMs));
    }
  });
});
