import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../../events/envelope.js';
import { householdStreamId } from '../../../events/household/index.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { planMeasureRows } from '../../../services/exports/index.js';
import { expected, type EventStore } from '../../../services/ports/event-store.js';
import type { HouseholdRow } from '../../../services/ports/read-model.js';

/** The 帮扶措施 sheet's rows: every household's plan folded from its stream, households read a batch at a time. */
const VILLAGE = '533423101201';
const event = (type: string, data: object): NewEvent => ({
  type,
  data,
  metadata: { eventId: randomUUID(), occurredAt: '2026-03-01T09:00:00.000+08:00', actor: { userId: 'admin', unitId: '533400', role: 'admin' }, correlationId: 'c', causationId: 'c', schemaVersion: 1 },
});
const measure = (measureId: string) => event('PlanMeasureAdded', { measureId, kind: 'industry', description: `措施 ${measureId}`, responsibleUnitId: VILLAGE, deadline: '2027-06-30T23:59:59.999+08:00' });
const row = (householdId: string, planTotal: number) => ({ householdId, villageId: VILLAGE, planTotal }) as HouseholdRow;
async function* each<T>(items: T[]) {
  yield* items;
}

describe('the plan measures of an export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duban-plan-rows-'));
  const store = openSqliteEventStore({ path: join(dir, 'events.db') });
  const households = Array.from({ length: 150 }, (_, i) => `h-${String(i).padStart(3, '0')}`);
  let cut: bigint;

  beforeAll(async () => {
    for (const [i, id] of households.entries()) {
      await store.append(householdStreamId(id), [event('HouseholdRegistered', { householdId: id, villageId: VILLAGE, members: 3, category: 'registered' }), measure(`${id}/a`), ...(i % 3 === 0 ? [] : [measure(`${id}/b`)])], expected.noStream);
    }
    cut = await store.headPosition();
    // After the ledger's read position: not in the export.
    await store.append(householdStreamId('h-007'), [measure('h-007/late')], expected.any);
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives every measure in the ledger\'s order as of its position, reading a batch of households\' streams at once', async () => {
    let reading = 0;
    let mostAtOnce = 0;
    const counted: EventStore = {
      ...store,
      async readStream(...args) {
        mostAtOnce = Math.max(mostAtOnce, ++reading);
        try {
          await new Promise((resolve) => setImmediate(resolve));
          return await store.readStream(...args);
        } finally {
          reading--;
        }
      },
    };
    // A household without a plan is not read; one the store does not have gives nothing.
    const ledger = [...households.map((id, i) => row(id, i % 3 === 0 ? 1 : 2)), row('h-empty', 0), row('h-missing', 1)];
    const rows = [];
    for await (const r of planMeasureRows(counted, each(ledger), cut, 64)) rows.push(r);
    const want = households.flatMap((id, i) => [`${id}/a`, ...(i % 3 === 0 ? [] : [`${id}/b`])]);
    expect(rows.map((r) => r.measureId)).toEqual(want);
    expect(rows[0]).toMatchObject({ householdId: 'h-000', villageId: VILLAGE, kind: 'industry', completed: false });
    expect(mostAtOnce).toBeGreaterThanOrEqual(64);
    expect(mostAtOnce).toBeLessThanOrEqual(128);
  });
});
