import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordedEvent } from '../../events/envelope.js';
import { afterAll, describe, expect, it } from 'vitest';
import { client } from './support/client.js';
import { registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

const ROWS = 1500;

describe('an import job cut short by a stop', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'duban-import-restart-'));
  let svc: TestService | undefined;
  afterAll(async () => {
    await svc?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is finished on the next start, every row stored exactly once', async () => {
    svc = await startTestService({ dataDir });
    const token = await svc.token(U.diqing, 'admin');
    await registerPrefecture(client(svc.baseUrl, token));
    const csv = ['户编号,所属村代码,家庭人口,户类别', ...Array.from({ length: ROWS }, (_, i) => `hh-r${i},${U.qizong},3,监测户`)].join('\n');
    const started = await fetch(`${svc.baseUrl}/v1/imports?kind=households&dryRun=false&async=true`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: csv });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    const job = async (s: TestService) => (await (await fetch(`${s.baseUrl}/v1/imports/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; phase?: string; done?: number; resumed: number; report?: { rowsToAppend: number; rowsUnchanged: number } };
    // Stop while it is appending: some rows are stored, not all.
    for (let j = await job(svc); !(j.phase === 'appending' && (j.done ?? 0) >= 200); j = await job(svc)) {
      expect(j.status).toBe('running');
      await new Promise((r) => setTimeout(r, 5));
    }
    await svc.stop();
    svc = undefined;
    const stored = (events: RecordedEvent[]) => events.filter((e) => e.type === 'HouseholdRegistered' && String((e.data as { householdId?: string }).householdId).startsWith('hh-r'));

    svc = await startTestService({ dataDir });
    let j = await job(svc);
    for (let tries = 0; j.status === 'running' && tries < 2000; tries++, j = await job(svc)) await new Promise((r) => setTimeout(r, 20));
    expect(j).toMatchObject({ status: 'done', resumed: 1 });
    const before = ROWS - j.report!.rowsToAppend;
    expect(before).toBeGreaterThanOrEqual(200);
    expect(before).toBeLessThan(ROWS);
    expect(j.report).toMatchObject({ rowsUnchanged: before });
    const events = stored(await svc.events());
    expect(events).toHaveLength(ROWS);
    expect(new Set(events.map((e) => (e.data as { householdId: string }).householdId)).size).toBe(ROWS);
  });
});
