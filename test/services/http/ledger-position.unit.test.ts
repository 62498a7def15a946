import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { DEFAULT_POLICY } from '../../../events/problem/index.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../../../infra/sqlite/read-model.js';
import { createApiServices } from '../../../services/commands/index.js';
import { ledgerPositionOf } from '../../../services/http/plugins/services.js';
import { createLedgerQueries, startProjections } from '../../../services/ledgers/index.js';
import { createMetrics } from '../../../services/metrics.js';

const logger = pino({ level: 'silent' });
const admin = { actor: { userId: 'admin', unitId: '533400', role: 'admin' as const }, correlationId: 'ledger-position' };

describe('the live ledgers position', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function world() {
    const dir = mkdtempSync(join(tmpdir(), 'duban-ledger-position-'));
    const store = openSqliteEventStore({ path: join(dir, 'events.db'), synchronous: 'NORMAL' });
    const readModel = createSqliteReadModel({ path: join(dir, 'ledgers.db') });
    const projections = startProjections({ eventStore: store, readModel, logger, flushIntervalMs: 5 });
    const api = createApiServices({ store, ledgers: createLedgerQueries({ eventStore: store, readModel }), policy: DEFAULT_POLICY, metrics: createMetrics(), logger });
    await api.start();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => store.close(), () => readModel.close(), () => projections.stop(), () => api.close());
    const register = (unitId: string, parentId: string | null) =>
      api.services.organisation.registerUnit({ unitId, name: '迪庆藏族自治州', level: parentId ? 'county' : 'prefecture', parentId }, admin);
    return { store, readModel, projections, register };
  }

  test('where the projections run in this process, it is their committed checkpoint, the one the read model stores', async () => {
    const { store, readModel, projections, register } = await world();
    const position = ledgerPositionOf(readModel.active, projections);
    await register('533400', null);
    await register('533423', '533400');
    await projections.caughtUp();
    expect(await position()).toBe(await store.headPosition());
    expect(await position()).toBe(await readModel.active.checkpoint());
  });

  test('without projections in this process, or once they stopped, it is the read model stored checkpoint', async () => {
    const { readModel, projections, register } = await world();
    await register('533400', null);
    await projections.caughtUp();
    const stored = await readModel.active.checkpoint();
    expect(await ledgerPositionOf(readModel.active)()).toBe(stored);
    await projections.stop();
    expect(await ledgerPositionOf(readModel.active, projections)()).toBe(stored);
  });
});
