import { rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createSqliteReadModel } from '../../infra/sqlite/read-model.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'duban-rm-wal-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

it('copies the WAL into the file from a thread of its own, long before the connection would (its backstop, 16,384 pages)', async () => {
  const path = join(dir, 'ledgers.db');
  const store = createSqliteReadModel({ path });
  const ks = store.keyspace(await store.activeKeyspace());
  const before = statSync(path).size;
  // 20 MB of snapshot: past the thread's 16 MB, under the connection's own 64 MB of WAL.
  const state = Buffer.alloc(20 << 20, 7);
  await ks.saveSnapshot({ position: 1n, recordedAt: '2020-01-01T00:00:00.000Z', state });
  await expect.poll(() => statSync(path).size, { timeout: 10_000 }).toBeGreaterThan(before + (16 << 20));
  const found = await ks.findSnapshot({ position: 1n });
  expect(found?.state.equals(state)).toBe(true);
  await store.close();
});

it('says once, through onCheckpointFailure, that its checkpoint thread could not open the file, and writes on', async () => {
  const path = join(dir, 'ledgers.db');
  const failures: Error[] = [];
  const store = createSqliteReadModel({ path, onCheckpointFailure: (error) => failures.push(error) });
  const ks = store.keyspace(await store.activeKeyspace());
  rmSync(path);
  const state = Buffer.alloc(20 << 20, 7);
  await ks.saveSnapshot({ position: 1n, recordedAt: '2020-01-01T00:00:00.000Z', state });
  await expect.poll(() => failures.length, { timeout: 10_000 }).toBe(1);
  expect((await ks.findSnapshot({ position: 1n }))?.state.equals(state)).toBe(true);
  await store.close();
  expect(failures).toHaveLength(1);
});
