import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProblemRow, RowWrite } from '../../../services/ports/read-model.js';
import { problemRow as row, unitRow } from './rows.js';
import { requireService } from '../../setup/services.js';
import { redisAdapter, sqliteAdapter, type StoreAdapter, type StoreFixture } from './stores.js';

/** One contract, two stores: the embedded SQLite store and Redis. */
const redisUrl = requireService('redis');
const adapters: StoreAdapter[] = [sqliteAdapter, ...(redisUrl ? [redisAdapter(redisUrl)] : [])];

const problemRow = (problemId: string, ancestors: string[], deadline: string, open = true): ProblemRow =>
  row(problemId, ancestors, { description: '问题', deadline, open, status: open ? 'open' : 'cleared' });
const putProblem = (row: ProblemRow): RowWrite => ({
  collection: 'problem',
  key: row.problemId,
  row,
  ancestors: row.ancestors,
  openDeadlineMs: row.open ? Date.parse(row.deadline) : null,
});
const A = ['P'];
const B = ['P', 'C1'];
const B2 = ['P', 'C2'];

for (const adapter of adapters) {
  describe(`read-model store contract: ${adapter.name}`, () => {
    let fixture: StoreFixture;
    beforeEach(async () => {
      fixture = await adapter.fixture();
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    it('starts with an active, empty keyspace', async () => {
      const store = fixture.open();
      const id = await store.activeKeyspace();
      expect(await store.activeKeyspace()).toBe(id);
      expect(await store.active.checkpoint()).toBe(-1n);
      expect(await store.active.get('problem', 'x')).toBeUndefined();
      expect(await store.active.listSubtree('problem', 'P', { limit: 10 })).toEqual([]);
    });

    it('commits rows with the checkpoint, and reads them by key, by keys and by subtree in key order', async () => {
      const store = fixture.open();
      const ks = store.keyspace(await store.activeKeyspace());
      const rows = ['p3', 'p1', '问题2', 'p2'].map((id, i) => problemRow(id, i % 2 ? B : B2, '2020-03-10T15:59:59.999Z'));
      await ks.commit({
        writes: [{ collection: 'unit', key: 'P', row: unitRow('P', A), ancestors: A }, ...rows.map(putProblem)],
        parked: [],
        checkpoint: 42n,
      });
      expect(await store.active.checkpoint()).toBe(42n);
      expect(await store.active.get('problem', '问题2')).toEqual(rows[2]);
      expect((await store.active.getMany('problem', ['p1', 'nope', 'p3'])).map((r) => r?.problemId)).toEqual(['p1', undefined, 'p3']);
      const all = await store.active.listSubtree('problem', 'P', { limit: 10 });
      // Byte order of UTF-8 keys: ASCII before Chinese.
      expect(all.map((r) => r.problemId)).toEqual(['p1', 'p2', 'p3', '问题2']);
      expect((await store.active.listSubtree('problem', 'C1', { limit: 10 })).map((r) => r.problemId)).toEqual(['p1', 'p2']);
      const first = await store.active.listSubtree('problem', 'P', { limit: 2 });
      const rest = await store.active.listSubtree('problem', 'P', { limit: 10, afterKey: first.at(-1)!.problemId });
      expect([...first, ...rest].map((r) => r.problemId)).toEqual(['p1', 'p2', 'p3', '问题2']);
    });

    it('deleting a row removes it from every subtree it was in', async () => {
      const store = fixture.open();
      const ks = store.keyspace(await store.activeKeyspace());
      await ks.commit({
        writes: [{ collection: 'escalation', key: 'e1', row: null, ancestors: B }],
        parked: [],
        checkpoint: 1n,
      });
      const notice = { problemId: 'e1', unitId: 'C1', responsibleUnitId: 'C1', ancestors: B, level: 1, toUnitId: 'P', colour: 'red' as const, reason: '逾期', escalatedAt: 't', deadline: 'd' };
      await ks.commit({ writes: [{ collection: 'escalation', key: 'e1', row: notice, ancestors: B }], parked: [], checkpoint: 2n });
      expect(await ks.listSubtree('escalation', 'C1', { limit: 5 })).toEqual([notice]);
      await ks.commit({ writes: [{ collection: 'escalation', key: 'e1', row: null, ancestors: B }], parked: [], checkpoint: 3n });
      expect(await ks.get('escalation', 'e1')).toBeUndefined();
      expect(await ks.listSubtree('escalation', 'P', { limit: 5 })).toEqual([]);
      expect(await ks.listSubtree('escalation', 'C1', { limit: 5 })).toEqual([]);
    });

    it('counts open problems with a deadline strictly before a time, per subtree, and forgets closed ones', async () => {
      const store = fixture.open();
      const ks = store.keyspace(await store.activeKeyspace());
      const d1 = '2020-03-10T00:00:00.000Z';
      const d2 = '2020-03-20T00:00:00.000Z';
      await ks.commit({ writes: [problemRow('a', B, d1), problemRow('b', B2, d1), problemRow('c', B, d2)].map(putProblem), parked: [], checkpoint: 1n });
      expect(await ks.countOpenDeadlinesBefore('P', Date.parse(d1))).toBe(0);
      expect(await ks.countOpenDeadlinesBefore('P', Date.parse(d1) + 1)).toBe(2);
      expect(await ks.countOpenDeadlinesBefore('C1', Date.parse(d2) + 1)).toBe(2);
      expect(await ks.countOpenDeadlinesBefore('C2', Date.parse(d2) + 1)).toBe(1);
      await ks.commit({ writes: [putProblem(problemRow('a', B, d1, false)), putProblem(problemRow('c', B, '2020-04-01T00:00:00.000Z'))], parked: [], checkpoint: 2n });
      expect(await ks.countOpenDeadlinesBefore('C1', Date.parse(d2) + 1)).toBe(0);
      expect(await ks.countOpenDeadlinesBefore('P', Date.parse(d2) + 1)).toBe(1);
    });

    it('a commit that dies halfway leaves rows and checkpoint exactly as they were', async () => {
      let crash = false;
      const store = fixture.open({
        midCommit: () => {
          if (crash) throw new Error('simulated crash');
        },
      });
      const ks = store.keyspace(await store.activeKeyspace());
      await ks.commit({ writes: [putProblem(problemRow('a', B, '2020-03-10T00:00:00.000Z'))], parked: [], checkpoint: 5n });
      crash = true;
      const rows = ['b', 'c', 'd', 'e'].map((id) => problemRow(id, B, '2020-03-10T00:00:00.000Z'));
      await expect(ks.commit({ writes: [...rows.map(putProblem), putProblem(problemRow('a', B, '2020-03-10T00:00:00.000Z', false))], parked: [], checkpoint: 9n })).rejects.toThrow(/simulated crash/);
      expect(await ks.checkpoint()).toBe(5n);
      expect((await ks.listSubtree('problem', 'P', { limit: 10 })).map((r) => r.problemId)).toEqual(['a']);
      expect(await ks.get('problem', 'a')).toMatchObject({ open: true });
      expect(await ks.countOpenDeadlinesBefore('P', Date.parse('2020-04-01T00:00:00.000Z'))).toBe(1);
    });

    it('commits a batch too large for one command (30,000 rows, a rebuild\'s one batch) whole with its checkpoint, or refuses it whole, leaving nothing else', async () => {
      let crash = true;
      const store = fixture.open({
        midCommit: () => {
          if (crash) throw new Error('simulated crash');
        },
      });
      const id = await store.activeKeyspace();
      const ks = store.keyspace(id);
      const many = Array.from({ length: 30_000 }, (_, i) => putProblem(problemRow(`p${String(i).padStart(5, '0')}`, i % 2 ? B : B2, '2020-03-10T00:00:00.000Z')));
      const untouched = await fixture.dump(id);
      // The writer dies with part of the batch sent.
      await expect(ks.commit({ writes: many, parked: [], checkpoint: 3n, previous: -1n })).rejects.toThrow(/simulated crash/);
      expect(await fixture.dump(id)).toEqual(untouched);
      crash = false;
      if (adapter.name === 'redis') {
        // The writer expects a checkpoint the keyspace does not hold (Redis restarted empty behind it).
        await expect(ks.commit({ writes: many, parked: [], checkpoint: 3n, previous: 2n })).rejects.toThrow(/changed behind its writer/);
        expect(await fixture.dump(id)).toEqual(untouched);
      }
      await ks.commit({ writes: many, parked: [], checkpoint: 3n, previous: -1n });
      expect(await ks.checkpoint()).toBe(3n);
      expect(await ks.get('problem', 'p29999')).toEqual(many.at(-1)!.row);
      expect((await ks.listSubtree('problem', 'C1', { limit: 20_000 })).length).toBe(15_000);
      expect(await ks.countOpenDeadlinesBefore('P', Date.parse('2020-04-01T00:00:00.000Z'))).toBe(30_000);
      const names = new Set([...(await fixture.dump(id)).keys()].map((key) => key.split(/[:|]/)[0]));
      expect([...names].sort()).toEqual(['checkpoint', 'dl', 'row', 'sub']);
    });

    it('keeps what was committed across a restart', async () => {
      const first = fixture.open();
      const id = await first.activeKeyspace();
      await first.keyspace(id).commit({ writes: [putProblem(problemRow('a', B, '2020-03-10T00:00:00.000Z'))], parked: [], checkpoint: 7n });
      await first.close();
      const second = fixture.open();
      expect(await second.activeKeyspace()).toBe(id);
      expect(await second.active.checkpoint()).toBe(7n);
      expect(await second.active.get('problem', 'a')).toMatchObject({ problemId: 'a' });
      const scanned = [];
      for await (const w of second.keyspace(id).scanAll()) scanned.push(w.key);
      expect(scanned).toEqual(['a']);
    });

    it('keeps parked events and snapshots, and finds the newest snapshot at or before a position or time', async () => {
      const store = fixture.open();
      const ks = store.keyspace(await store.activeKeyspace());
      const parked = { position: '3', streamId: 'problem-x', revision: 0, type: 'Bogus', eventId: null, reason: 'unknown event type Bogus', parkedAt: '2020-01-01T00:00:00.000Z' };
      await ks.commit({ writes: [], parked: [parked], checkpoint: 3n });
      expect(await ks.parked()).toEqual([parked]);
      for (const [position, recordedAt] of [[100n, '2020-02-01T00:00:00.000Z'], [200n, '2020-03-01T00:00:00.000Z']] as const) {
        await ks.saveSnapshot({ position, recordedAt, state: Buffer.from(`state@${position}`) });
      }
      expect((await ks.findSnapshot({}))?.position).toBe(200n);
      expect((await ks.findSnapshot({ position: 199n }))?.position).toBe(100n);
      expect((await ks.findSnapshot({ time: '2020-02-15T00:00:00.000Z' }))?.state.toString()).toBe('state@100');
      expect(await ks.findSnapshot({ time: '2020-01-15T00:00:00.000Z' })).toBeUndefined();
    });

    it('a new keyspace is invisible to readers until activated, then the old one can be dropped', async () => {
      const store = fixture.open();
      const oldId = await store.activeKeyspace();
      await store.keyspace(oldId).commit({ writes: [putProblem(problemRow('old', B, '2020-03-10T00:00:00.000Z'))], parked: [], checkpoint: 1n });
      const fresh = await store.createKeyspace();
      expect(fresh.id).toBeGreaterThan(oldId);
      expect(await fresh.checkpoint()).toBe(-1n);
      await fresh.commit({ writes: [putProblem(problemRow('new', B, '2020-03-10T00:00:00.000Z'))], parked: [], checkpoint: 1n });
      expect(await store.active.get('problem', 'new')).toBeUndefined();
      await expect(store.dropKeyspace(oldId)).rejects.toThrow(/active/);
      await store.activate(fresh.id);
      expect(await store.active.get('problem', 'new')).toBeDefined();
      expect(await store.active.get('problem', 'old')).toBeUndefined();
      await store.dropKeyspace(oldId);
      expect(await store.keyspace(oldId).get('problem', 'old')).toBeUndefined();
      expect(await store.keyspace(oldId).listSubtree('problem', 'P', { limit: 5 })).toEqual([]);
    });
  });
}
