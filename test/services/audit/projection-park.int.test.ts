import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../../../infra/sqlite/read-model.js';
import { startProjections } from '../../../services/ledgers/index.js';
import { expected } from '../../../services/ports/event-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'duban-park-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const unit = (unitId: string, name: string, level: string, parentId: string | null) => ({
  type: 'UnitRegistered',
  data: { unitId, name, level, parentId },
  metadata: {
    eventId: randomUUID(),
    occurredAt: '2027-01-01T00:00:00+08:00',
    actor: { userId: 'admin', unitId: '533400', role: 'admin' as const },
    correlationId: 'c',
    causationId: 'c',
    schemaVersion: 1,
  },
});

it('the projections park an event whose audit link does not verify, and apply the ones after it', async () => {
  const store = openSqliteEventStore({ path: join(dir, 'events.db'), synchronous: 'NORMAL' });
  await store.append('unit-533400', [unit('533400', '迪庆州', 'prefecture', null)], expected.noStream);
  await store.append('unit-533423', [unit('533423', '维西县', 'county', '533400')], expected.noStream);
  await store.append('unit-533421', [unit('533421', '香格里拉市', 'county', '533400')], expected.noStream);
  // Behind the store's back: the county's name is changed, its hash left as it was.
  const db = new Database(join(dir, 'events.db'));
  db.prepare("UPDATE events SET data = json_set(data, '$.name', '伪造县') WHERE stream_id = 'unit-533423'").run();
  db.close();

  const readModel = createSqliteReadModel({ path: join(dir, 'ledgers.db') });
  const projections = startProjections({ eventStore: store, readModel, logger: pino({ level: 'silent' }), flushIntervalMs: 5 });
  try {
    await projections.caughtUp();
    const status = projections.status();
    expect(status.parked).toBe(1);
    expect(status.recentParked[0]).toMatchObject({ streamId: 'unit-533423', revision: 0, reason: expect.stringContaining('hash does not match') });
    const reader = readModel.keyspace(await readModel.activeKeyspace());
    expect(await reader.get('unit', '533423')).toBeUndefined();
    expect(await reader.get('unit', '533421')).toMatchObject({ name: '香格里拉市' });
  } finally {
    await projections.stop();
    await readModel.close();
    await store.close();
  }
});
