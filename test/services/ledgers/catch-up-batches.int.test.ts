import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../../../infra/sqlite/read-model.js';
import { rebuildLedgers, startProjections } from '../../../services/ledgers/index.js';
import type { EventStore } from '../../../services/ports/event-store.js';
import type { KeyspaceWriter, ReadModelStore } from '../../../services/ports/read-model.js';
import { seedPrefecture, simulatedClock } from '../../fixtures/prefecture.js';

const silent = pino({ level: 'silent' });

/** The SQLite read model, counting the commits and snapshots made to the keyspaces it creates. */
function countingReadModel(path: string) {
  const inner = createSqliteReadModel({ path });
  const counts = { commits: 0, snapshots: [] as bigint[] };
  const counted = (writer: KeyspaceWriter): KeyspaceWriter => ({
    ...writer,
    async commit(batch) {
      counts.commits++;
      await writer.commit(batch);
    },
    async saveSnapshot(snapshot) {
      counts.snapshots.push(snapshot.position);
      await writer.saveSnapshot(snapshot);
    },
  });
  const readModel: ReadModelStore = { ...inner, createKeyspace: async () => counted(await inner.createKeyspace()), keyspace: (id) => counted(inner.keyspace(id)) };
  return { readModel, counts };
}

let dir: string;
let eventStore: EventStore;
let events: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duban-catch-up-'));
  const clock = simulatedClock();
  // Pages of 100 events: a catch-up reads many pages, each an awaited query.
  eventStore = openSqliteEventStore({ path: join(dir, 'events.db'), now: clock.now, synchronous: 'NORMAL', readBatchSize: 100 });
  const shape = { counties: 1, townshipsPerCounty: 2, villagesPerTownship: 2, householdsPerVillage: 5 };
  events = (await seedPrefecture(eventStore, clock, { seed: 7, shape, commands: 6000 })).events;
});
afterAll(async () => {
  await eventStore?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a rebuild keeps its batch open while events keep coming: a row that many events change is written once per batch, not once per page read', async () => {
  const { readModel, counts } = countingReadModel(join(dir, 'ledgers.db'));
  // Batches that end only when the stream pauses (here: reaches the head) or when full.
  await rebuildLedgers({ eventStore, readModel, logger: silent, dropGraceMs: 0, flushIntervalMs: 5, maxBatchMs: 60_000, batchSize: 1_000_000 });
  expect(events).toBeGreaterThan(5000);
  // The old loop ended a batch at the first page read after flushIntervalMs: dozens of commits, each writing
  // again every row its events touched. A pause of the machine longer than 5 ms still ends a batch early.
  expect(counts.commits).toBeLessThanOrEqual(5);
  await readModel.close();
});

test('a rebuild writes its fresh keyspace in one commit up to the head it started from, whatever batchSize says, with the rows batch-by-batch commits make', async () => {
  const { readModel, counts } = countingReadModel(join(dir, 'ledgers-one-commit.db'));
  // Batches of 100 events, ended after a millisecond: the live loop's rules would commit dozens of times.
  const small = { batchSize: 100, maxBatchMs: 1 };
  const rebuilt = await rebuildLedgers({ eventStore, readModel, logger: silent, dropGraceMs: 0, flushIntervalMs: 60_000, ...small });
  expect(counts.commits).toBe(1);
  expect(rebuilt.checkpoint).toBe(String(events));

  // The live loop on an empty keyspace, which readers read as it catches up, still commits batch by batch.
  const live = countingReadModel(join(dir, 'ledgers-batch-by-batch.db'));
  const projections = startProjections({ eventStore, readModel: live.readModel, logger: silent, ...small });
  await projections.caughtUp();
  await projections.stop();
  expect(live.counts.commits).toBeGreaterThan(events / 100 / 2);

  const rows = async (store: ReadModelStore) => {
    const all = new Map<string, unknown>();
    for await (const write of store.keyspace(await store.activeKeyspace()).scanAll()) all.set(`${write.collection}/${write.key}`, write.row);
    return all;
  };
  expect(await rows(readModel)).toEqual(await rows(live.readModel));
  await readModel.close();
  await live.readModel.close();
});

test('snapshots stay snapshotEvery events apart however long the batches are', async () => {
  const { readModel, counts } = countingReadModel(join(dir, 'ledgers-snapshots.db'));
  await rebuildLedgers({ eventStore, readModel, logger: silent, dropGraceMs: 0, flushIntervalMs: 5, maxBatchMs: 60_000, batchSize: 1_000_000, snapshotEvery: 1000 });
  // Positions count events from 1 in the SQLite store.
  expect(counts.snapshots).toEqual(Array.from({ length: Math.floor(events / 1000) }, (_, i) => BigInt((i + 1) * 1000)));
  await readModel.close();
});

test('a catch-up whose event store fails mid-read commits the events it had applied before restarting', async () => {
  const readModel = createSqliteReadModel({ path: join(dir, 'ledgers-store-down.db') });
  // The store delivers 1,234 events, then goes away: every read after that fails.
  const delivered = 1234;
  let sent = 0;
  const failing: EventStore = {
    ...eventStore,
    subscribeToAll(options) {
      const inner = eventStore.subscribeToAll(options);
      return {
        close: () => inner.close(),
        async *[Symbol.asyncIterator]() {
          for await (const event of inner) {
            if (sent >= delivered) throw new Error('event store connection lost');
            sent++;
            yield event;
          }
        },
      };
    },
  };
  // A batch that would stay open for a minute: only the failure ends it.
  const projections = startProjections({ eventStore: failing, readModel, logger: silent, flushIntervalMs: 60_000, maxBatchMs: 60_000, batchSize: 1_000_000, retryDelayMs: 50 });
  try {
    const deadline = Date.now() + 10_000;
    while (projections.status().restarts === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(projections.status().lastError).toMatch(/connection lost/);
    // Positions count events from 1 in the SQLite store: what was applied is on the ledgers while the store is down.
    expect(projections.status().checkpoint).toBe(String(delivered));
  } finally {
    await projections.stop();
    await readModel.close();
  }
});
