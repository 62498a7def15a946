import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provideRedis, type RedisServer } from '../../../infra/redis/provider.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { freePort } from '../../../infra/tools/process.js';
import { isUnavailable } from '../../../infra/tools/service.js';
import { rebuildLedgers, startProjections, type Projections } from '../../../services/ledgers/index.js';
import { expected, type EventStore } from '../../../services/ports/event-store.js';
import type { ReadModelStore } from '../../../services/ports/read-model.js';
import { generatePrefecture, type GeneratedAppend, simulatedClock } from '../../fixtures/prefecture.js';
import { redisAdapter, type StoreFixture } from './stores.js';

/**
 * The projector on a Redis of this test's own, which it stops and starts again empty (no persistence):
 * the projection loop must fail rather than wait on a Redis that went away, notice that Redis lost its
 * ledgers even when it was idle through the outage, and rebuild them from the event store, counting its
 * restarts. The rebuilt keyspace equals a from-scratch rebuild key for key.
 */
const silent = pino({ level: 'silent' });

describe('ledgers: Redis stopped under the projector and restarted empty', { timeout: 180_000 }, () => {
  let dir: string;
  let redisPort: number;
  let server: RedisServer;
  let eventStore: EventStore;
  let fixture: StoreFixture;
  let store: ReadModelStore;
  let projections: Projections;
  let history: GeneratedAppend[];
  const clock = simulatedClock();

  const startRedis = async () => {
    const started = await provideRedis({ useDocker: false, port: redisPort });
    if (isUnavailable(started)) throw new Error(started.unavailable);
    server = started;
  };
  const append = async (appends: GeneratedAppend[]) => {
    for (const a of appends) {
      clock.set(a.at);
      await eventStore.append(a.streamId, a.events, a.revisionBefore < 0 ? expected.noStream : expected.exact(a.revisionBefore));
    }
  };
  /** Resolves once the live keyspace holds the store's head; the timeout says what it hangs on. */
  const converged = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    const head = (await eventStore.headPosition()).toString();
    for (;;) {
      const status = projections.status();
      const stored = await store.active.checkpoint().then(String, () => 'unreadable');
      if (status.checkpoint === head && stored === head) return status;
      if (Date.now() > deadline) throw new Error(`not converged to ${head}: ${JSON.stringify({ ...status, stored })}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duban-redis-restart-'));
    redisPort = await freePort();
    await startRedis();
    eventStore = openSqliteEventStore({ path: join(dir, 'events.db'), now: clock.now });
    fixture = await redisAdapter(server.url).fixture();
    store = fixture.open();
    const generator = generatePrefecture({
      seed: 42,
      shape: { counties: 2, townshipsPerCounty: 2, villagesPerTownship: 2, householdsPerVillage: 3 },
      commands: 150,
    });
    history = [];
    for (let step = generator.next(); !step.done; step = generator.next()) history.push(step.value);
    projections = startProjections({ eventStore, readModel: store, logger: silent, retryDelayMs: 100, flushIntervalMs: 5 });
    await append(history.slice(0, 100));
    await converged(30_000);
  });

  afterAll(async () => {
    await projections?.stop();
    await fixture?.dispose();
    await eventStore?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('given Redis restarted empty while the projector was idle, then it rebuilds the ledgers and counts the restart', async () => {
    const before = projections.status();
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await startRedis();
    const after = await converged(30_000);
    expect(after.restarts).toBeGreaterThan(before.restarts);
    expect(await fixture.dump(after.keyspace!)).toEqual(await rebuiltDump());
  });

  it('given events appended while Redis is down, then the projector fails (not hangs), restarts, and converges once Redis returns empty', async () => {
    const before = projections.status();
    await server.stop();
    // One event, then nothing: the loop fails on that commit and keeps restarting, instead of waiting for
    // more events with a batch Redis never took, or on a Redis call that never settles.
    await append(history.slice(100, 101));
    const deadline = Date.now() + 20_000;
    while (projections.status().restarts < before.restarts + 2) {
      if (Date.now() > deadline) throw new Error(`the projection loop did not fail while Redis was down: ${JSON.stringify(projections.status())}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await startRedis();
    await append(history.slice(101));
    const after = await converged(30_000);
    expect(await fixture.dump(after.keyspace!)).toEqual(await rebuiltDump());
  });

  it('given a commit that expects a checkpoint the keyspace no longer holds, then Redis refuses it and writes nothing', async () => {
    const writer = fixture.open().keyspace(99);
    const row = { collection: 'household' as const, key: 'hh-x', row: { householdId: 'hh-x', ancestors: ['u-1'] } as never, ancestors: ['u-1'] };
    await writer.commit({ writes: [row], parked: [], checkpoint: 10n, previous: -1n });
    await expect(writer.commit({ writes: [{ ...row, key: 'hh-y' }], parked: [], checkpoint: 20n, previous: 5n })).rejects.toThrow(/changed behind its writer/);
    expect(await writer.checkpoint()).toBe(10n);
    expect(await writer.get('household', 'hh-y')).toBeUndefined();
    await writer.commit({ writes: [{ ...row, key: 'hh-y' }], parked: [], checkpoint: 20n, previous: 10n });
    expect(await writer.get('household', 'hh-y')).toMatchObject({ householdId: 'hh-x' });
  });

  // The same ledgers rebuilt from zero by a separate process, into a Redis prefix of their own.
  async function rebuiltDump() {
    const other = await redisAdapter(server.url).fixture();
    try {
      const built = await rebuildLedgers({ eventStore, readModel: other.open(), logger: silent, dropGraceMs: 0 });
      return await other.dump(built.keyspace);
    } finally {
      await other.dispose();
    }
  }
});
