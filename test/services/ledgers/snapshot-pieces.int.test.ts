import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLedgerState, deserializeState, readSnapshotState, serializeState } from '../../../services/ledgers/state.js';
import { problemRow, unitRow } from './rows.js';
import { requireService } from '../../setup/services.js';
import { redisAdapter, sqliteAdapter, type StoreAdapter, type StoreFixture } from './stores.js';

/** A snapshot read in pieces from each store: the bytes asked for, and the state deserializeState gives. */
const redisUrl = requireService('redis');
const adapters: StoreAdapter[] = [sqliteAdapter, ...(redisUrl ? [redisAdapter(redisUrl)] : [])];

const unit = (unitId: string, ancestors: string[]) => unitRow(unitId, ancestors, ancestors.length === 1 ? 'prefecture' : 'county');
const problem = (problemId: string, ancestors: string[]) => problemRow(problemId, ancestors);

function sampleState() {
  const state = createLedgerState();
  state.rows.unit.set('P', unit('P', ['P']));
  state.rows.unit.set('A', unit('A', ['P', 'A']));
  state.rows.unit.set('B', unit('B', ['P', 'B']));
  for (let i = 0; i < 50; i++) state.rows.problem.set(`a${i}`, problem(`a${i}`, ['P', 'A']));
  state.rows.problem.set('b0', problem('b0', ['P', 'B']));
  state.position = 41n;
  state.recordedAt = '2020-02-01T00:00:00.000Z';
  return state;
}

for (const adapter of adapters) {
  describe(`snapshot pieces: ${adapter.name}`, () => {
    let fixture: StoreFixture;
    beforeEach(async () => {
      fixture = await adapter.fixture();
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    it('reads the byte ranges asked for, and the state of one county equals the whole snapshot read for it', async () => {
      const store = fixture.open();
      const ks = store.keyspace(await store.activeKeyspace());
      const bytes = serializeState(sampleState());
      await ks.saveSnapshot({ position: 41n, recordedAt: '2020-02-01T00:00:00.000Z', state: bytes });
      expect(await ks.findSnapshotPieces({ time: '2020-01-01T00:00:00.000Z' })).toBeUndefined();
      const pieces = (await ks.findSnapshotPieces({ position: 41n }))!;
      expect(pieces).toMatchObject({ position: 41n, recordedAt: '2020-02-01T00:00:00.000Z' });
      expect(Buffer.compare(await pieces.read(0), bytes)).toBe(0);
      expect((await pieces.read(3, 10)).toString()).toBe(bytes.subarray(3, 10).toString());
      expect((await pieces.read(bytes.length - 2, bytes.length + 100)).length).toBe(2);
      expect((await pieces.read(5, 5)).length).toBe(0);
      for (const unitId of ['B', 'A', 'P', undefined]) {
        expect(await readSnapshotState(pieces.read, unitId)).toEqual(deserializeState(bytes, unitId));
      }
      expect((await readSnapshotState(pieces.read, 'B')).rows.problem.size).toBe(1);
    });

    it('reads ranges of a snapshot of several MiB, within and across the pieces a store may keep it in, and replaces it whole', async () => {
      const store = fixture.open();
      const ks = store.keyspace(await store.activeKeyspace());
      const MiB = 1 << 20;
      const bytes = Buffer.alloc(3 * MiB + 12_345);
      for (let i = 0; i + 4 <= bytes.length; i += 4) bytes.writeUInt32LE(i, i);
      await ks.saveSnapshot({ position: 7n, recordedAt: '2020-02-01T00:00:00.000Z', state: Buffer.alloc(5 * MiB, 1) });
      await ks.saveSnapshot({ position: 7n, recordedAt: '2020-02-01T00:00:00.000Z', state: bytes });
      const pieces = (await ks.findSnapshotPieces({ position: 7n }))!;
      for (const [start, end] of [[0, 10], [MiB - 3, MiB + 5], [MiB, 2 * MiB], [100, 3 * MiB + 1], [3 * MiB, 3 * MiB + 12_345], [2 * MiB + 7, 9 * MiB]] as const) {
        expect(Buffer.compare(await pieces.read(start, end), bytes.subarray(start, end)), `${start}..${end}`).toBe(0);
      }
      expect(Buffer.compare(await pieces.read(2 * MiB + 1), bytes.subarray(2 * MiB + 1))).toBe(0);
      expect(Buffer.compare((await ks.findSnapshot({ position: 7n }))!.state, bytes)).toBe(0);
    });
  });
}
