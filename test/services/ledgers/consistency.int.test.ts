import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { decodeRecorded } from '../../../services/ledgers/decode.js';
import { createLedgerQueries, startProjections, type Projections } from '../../../services/ledgers/index.js';
import { problemLateness } from '../../../services/ledgers/problem-ledger.js';
import { applyEvent, createLedgerState, skipEvent } from '../../../services/ledgers/state.js';
import { toRollup } from '../../../services/ledgers/unit-rollup.js';
import { expected, type EventStore } from '../../../services/ports/event-store.js';
import type { ReadModelStore, UnitRollup } from '../../../services/ports/read-model.js';
import { type PrefectureSummary, seedPrefecture, simulatedClock } from '../../fixtures/prefecture.js';
import { requireService } from '../../setup/services.js';
import { redisAdapter, sqliteAdapter, type StoreAdapter, type StoreFixture } from './stores.js';

/**
 * The ledgers' consistency checks, against a real SQLite event store and each real read-model store:
 * a randomized history of 10,000+ commands over a generated prefecture, projected live while it is written,
 * must equal a from-scratch rebuild key for key; a projection killed mid-batch must converge to the same
 * keys; every roll-up must equal the sums of the rows beneath it; an inspection as of a past time must equal
 * a replay from zero up to that time.
 */
const redisUrl = requireService('redis');
const adapters: StoreAdapter[] = [sqliteAdapter, ...(redisUrl ? [redisAdapter(redisUrl)] : [])];
const silent = pino({ level: 'silent' });
const COMMANDS = 10_200;

for (const adapter of adapters) {
  describe(`ledger consistency: ${adapter.name}`, { timeout: 600_000 }, () => {
    let dir: string;
    let eventStore: EventStore;
    let clock: ReturnType<typeof simulatedClock>;
    let fixture: StoreFixture;
    let store: ReadModelStore;
    let projections: Projections;
    let summary: PrefectureSummary;
    let rebuiltDump: Map<string, unknown>;
    let rebuiltKeyspace: number;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'duban-ledgers-'));
      clock = simulatedClock();
      eventStore = openSqliteEventStore({ path: join(dir, 'events.db'), now: clock.now, synchronous: 'NORMAL' });
      fixture = await adapter.fixture();
      store = fixture.open();
      // Small batches while the history is written: the incremental side commits many times, live.
      projections = startProjections({
        eventStore,
        readModel: store,
        logger: silent,
        batchSize: 64,
        flushIntervalMs: 5,
        snapshotEvery: 1500,
        dropGraceMs: 3_600_000,
      });
      summary = await seedPrefecture(eventStore, clock, {
        seed: 20200630,
        shape: { counties: 3, townshipsPerCounty: 3, villagesPerTownship: 4, householdsPerVillage: 8 },
        commands: COMMANDS,
      });
      await projections.caughtUp();
    }, 600_000);

    afterAll(async () => {
      await projections?.stop();
      await fixture?.dispose();
      await eventStore?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('ran 10,000+ decided commands over the prefecture, nothing parked, nothing behind', async () => {
      expect(summary.commands).toBeGreaterThanOrEqual(10_000);
      expect(summary.events).toBeGreaterThan(9_000);
      expect(summary.problems).toBeGreaterThan(300);
      const status = projections.status();
      expect(status.parked).toBe(0);
      expect(status.checkpoint).toBe((await eventStore.headPosition()).toString());
    });

    it('the incremental ledgers equal a from-scratch rebuild, key for key, and reads never see a gap during the switch', async () => {
      const queries = createLedgerQueries({ eventStore, readModel: store, now: clock.now });
      const incrementalKeyspace = projections.status().keyspace!;
      const before = await queries.rollup({ unitId: summary.prefectureId });

      let reading = true;
      const reads: UnitRollup[] = [];
      const reader = (async () => {
        while (reading) {
          reads.push((await queries.rollup({ unitId: summary.prefectureId })).unit);
          // The SQLite store answers synchronously; let the rebuild's own I/O and timers run between reads.
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const result = await projections.rebuild();
      reading = false;
      await reader;

      rebuiltKeyspace = result.keyspace;
      expect(rebuiltKeyspace).not.toBe(incrementalKeyspace);
      expect(projections.status().keyspace).toBe(rebuiltKeyspace);
      expect(await store.activeKeyspace()).toBe(rebuiltKeyspace);
      // No new events arrived, so every read during the rebuild must give the same full answer.
      expect(reads.length).toBeGreaterThan(0);
      for (const read of reads) expect(read).toEqual(before.unit);

      const incremental = await fixture.dump(incrementalKeyspace);
      rebuiltDump = await fixture.dump(rebuiltKeyspace);
      expect(incremental.size).toBeGreaterThan(5_000);
      expect([...rebuiltDump.keys()].sort()).toEqual([...incremental.keys()].sort());
      for (const [key, value] of incremental) expect(rebuiltDump.get(key), key).toEqual(value);
      await store.dropKeyspace(incrementalKeyspace);
    });

    it('roll-up counts equal the sums of the problem, household and listing ledgers beneath each unit', async () => {
      const queries = createLedgerQueries({ eventStore, readModel: store, now: clock.now });
      const reader = store.keyspace(await store.activeKeyspace());
      const problems = await reader.listSubtree('problem', summary.prefectureId, { limit: 1_000_000 });
      const households = await reader.listSubtree('household', summary.prefectureId, { limit: 1_000_000 });
      const listings = await reader.listSubtree('listing', summary.prefectureId, { limit: 1_000_000 });
      const units = await reader.listSubtree('unit', summary.prefectureId, { limit: 1_000_000 });
      expect(units).toHaveLength(summary.units);
      expect(households).toHaveLength(summary.households);
      expect(problems).toHaveLength(summary.problems);
      const nowMs = clock.now().getTime();
      const sum = <T>(rows: T[], f: (r: T) => number) => rows.reduce((n, r) => n + f(r), 0);
      let overdueSeen = 0;
      for (const unit of units) {
        const p = problems.filter((r) => r.ancestors.includes(unit.unitId));
        const h = households.filter((r) => r.ancestors.includes(unit.unitId));
        const l = listings.filter((r) => r.ancestors.includes(unit.unitId));
        const { unit: rollup } = await queries.rollup({ unitId: unit.unitId });
        const expectedRollup = {
          problemsOpen: sum(p, (r) => Number(r.open)),
          problemsOverdue: sum(p, (r) => Number(problemLateness(r, nowMs).overdue)),
          problemsCleared: sum(p, (r) => Number(!r.open)),
          householdsTotal: h.length,
          householdsMeetingStandard: sum(h, (r) => Number(r.meetsStandard)),
          householdsMonitored: sum(h, (r) => Number(r.monitored)),
          problemMeasuresTotal: sum(p, (r) => r.measuresTotal),
          problemMeasuresCompleted: sum(p, (r) => r.measuresDone),
          planMeasuresTotal: sum(h, (r) => r.planTotal),
          planMeasuresCompleted: sum(h, (r) => r.planDone),
          listingsActive: sum(l, (r) => Number(r.active)),
        };
        expect(rollup, unit.unitId).toMatchObject(expectedRollup);
        expect(rollup.clear).toBe(
          expectedRollup.problemsOpen === 0 && expectedRollup.householdsMeetingStandard === h.length && expectedRollup.listingsActive === 0,
        );
        overdueSeen += expectedRollup.problemsOverdue;
      }
      // The history must exercise what is checked: overdue items exist somewhere.
      expect(overdueSeen).toBeGreaterThan(0);
    });

    it('an inspection as of a past time or position equals a replay from zero up to it, starting from a snapshot', async () => {
      const queries = createLedgerQueries({ eventStore, readModel: store, now: clock.now });
      const mid = new Date((Date.parse(summary.start) + Date.parse(summary.end)) / 2).toISOString();
      const reader = store.keyspace(await store.activeKeyspace());
      const snapshot = await reader.findSnapshot({ time: mid });
      expect(snapshot, 'a snapshot before the middle of the history').toBeDefined();

      // The reference: every event recorded up to `mid`, applied from zero.
      const reference = createLedgerState();
      for await (const raw of eventStore.readAll()) {
        if (Date.parse(raw.metadata.recordedAt) > Date.parse(mid)) break;
        applyEvent(reference, decodeRecorded(raw));
      }
      for (const countyId of summary.countyIds) {
        const asOf = await queries.rollup({ unitId: countyId, asOf: mid });
        const row = reference.rows.unit.get(countyId)!;
        const overdue = [...reference.rows.problem.values()].filter((p) => p.ancestors.includes(countyId) && problemLateness(p, Date.parse(mid)).overdue).length;
        expect(asOf.unit).toEqual(toRollup(row, overdue));
        expect(asOf.position).toBe(reference.position.toString());
      }
      const byPosition = await queries.problems({ unitId: summary.prefectureId, position: reference.position, limit: 500 });
      const firstPage = [...reference.rows.problem.keys()].sort().slice(0, 500);
      expect(byPosition.items.map((p) => p.problemId)).toEqual(firstPage);
    });

    it('pages problems in a stable order with filters, and shows an item\'s full history with its chain verified', async () => {
      const queries = createLedgerQueries({ eventStore, readModel: store, now: clock.now });
      const county = summary.countyIds[0]!;
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await queries.problems({ unitId: county, open: true, overdue: true, limit: 37, cursor });
        for (const item of page.items) {
          expect(item.open && item.overdue && item.daysOverdue > 0).toBe(true);
          seen.push(item.problemId);
        }
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...seen].sort());
      expect(seen.length).toBe((await queries.rollup({ unitId: county })).unit.problemsOverdue);

      const history = await queries.itemHistory(seen[0]!);
      expect(history.events[0]).toMatchObject({ type: 'ProblemFound', actor: { role: 'supervisor' } });
      expect(history.events.every((e) => e.recordedAt && e.occurredAt && e.hash)).toBe(true);
      expect(history.verification).toEqual({ ok: true, checked: history.events.length });
    });

    it('a projection killed mid-batch and restarted from its stored checkpoint converges to the same keys', async () => {
      const crashing = await adapter.fixture();
      try {
        let commits = 0;
        const first = crashing.open({
          midCommit: (connection) => {
            commits++;
            if (commits === 3 || commits === 8) throw new Error('simulated crash mid-batch');
            // The process dies: its connection drops halfway through a batch.
            if (commits === 14) {
              connection.disconnect();
              throw new Error('simulated process death');
            }
          },
        });
        const doomed = startProjections({ eventStore, readModel: first, logger: silent, batchSize: 300, retryDelayMs: 5 });
        const deadline = Date.now() + 120_000;
        while (commits < 14 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(commits).toBeGreaterThanOrEqual(14);
        expect(doomed.status().restarts).toBeGreaterThanOrEqual(2);
        await doomed.stop();
        await first.close().catch(() => undefined);

        const second = crashing.open();
        const restarted = startProjections({ eventStore, readModel: second, logger: silent, batchSize: 300 });
        await restarted.caughtUp();
        await restarted.stop();
        const converged = await crashing.dump(await second.activeKeyspace());
        expect([...converged.keys()].sort()).toEqual([...rebuiltDump.keys()].sort());
        for (const [key, value] of rebuiltDump) expect(converged.get(key), key).toEqual(value);
      } finally {
        await crashing.dispose();
      }
    });

    it('parks poison events with their reason, reports them, and goes on with the events after them', async () => {
      const base = await eventStore.headPosition();
      const meta = (type: string) => ({
        eventId: randomUUID(),
        occurredAt: clock.now().toISOString(),
        actor: { userId: 'u', unitId: summary.prefectureId, role: 'system' as const },
        correlationId: 'poison',
        causationId: 'poison',
        schemaVersion: 1,
        type,
      });
      const event = (type: string, data: unknown) => {
        const { type: _t, ...metadata } = meta(type);
        return { type, data, metadata };
      };
      await eventStore.append('problem-GHOST', [event('MeasureCompleted', { measureId: 'M1', evidence: [] })], expected.noStream);
      await eventStore.append('problem-BROKEN', [event('ProblemFound', { problemId: 'BROKEN' })], expected.noStream);
      await eventStore.append(`unit-NEW-${adapter.name}`, [event('UnitRegistered', { unitId: `NEW-${adapter.name}`, name: '新村', level: 'village', parentId: summary.countyIds[0]! })], expected.noStream);
      await projections.caughtUp();
      const status = projections.status();
      expect(status.parked).toBe(2);
      expect(status.recentParked.map((p) => [p.streamId, p.position])).toEqual([
        ['problem-GHOST', (base + 1n).toString()],
        ['problem-BROKEN', (base + 2n).toString()],
      ]);
      expect(status.recentParked[0]!.reason).toMatch(/never found/);
      expect(status.recentParked[1]!.reason).toMatch(/ProblemFound v1 is invalid/);
      const reader = store.keyspace(await store.activeKeyspace());
      expect(await reader.parked()).toHaveLength(2);
      expect(await reader.get('unit', `NEW-${adapter.name}`)).toMatchObject({ name: '新村' });
      expect(await reader.checkpoint()).toBe(base + 3n);

      // An inspection skips what the projection parked, and sees the rest.
      const replay = createLedgerState();
      for await (const raw of eventStore.readAll()) {
        try {
          applyEvent(replay, decodeRecorded(raw));
        } catch {
          skipEvent(replay, raw);
        }
      }
      expect(replay.rows.unit.has(`NEW-${adapter.name}`)).toBe(true);
    });
  });
}
