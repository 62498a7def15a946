import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEvent } from '../../events/envelope.js';
import { openSqliteEventStore } from '../../infra/sqlite/event-store.js';
import { type EventStore, expected, StreamNotFoundError, WrongExpectedVersionError } from '../../services/ports/event-store.js';

/** What only the SQLite adapter promises, beyond the shared contract. */

const event = (n: number): NewEvent => ({
  type: 'N',
  data: { n },
  metadata: {
    eventId: randomUUID(),
    occurredAt: '2026-06-30T12:00:00+08:00',
    actor: { userId: 'u-1', unitId: '533423', role: 'cadre' },
    correlationId: 'c',
    causationId: 'c',
    schemaVersion: 1,
  },
});

describe('SQLite event store', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duban-sqlite-'));
    path = join(dir, 'events.db');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('given pages of 3, then readAll yields every event once in order across pages, honours bounds and break, and stops at the first unreadable row after delivering those before it', async () => {
    const store = openSqliteEventStore({ path, readBatchSize: 3 });
    await store.append('s', Array.from({ length: 7 }, (_, i) => event(i)), expected.noStream);
    const positions = async (options?: Parameters<typeof store.readAll>[0], stopAfter = Infinity) => {
      const seen: bigint[] = [];
      for await (const e of store.readAll(options)) {
        seen.push(e.position);
        if (seen.length >= stopAfter) break;
      }
      return seen;
    };
    expect(await positions()).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(await positions({ fromPosition: 3n, toPosition: 6n })).toEqual([4n, 5n, 6n]);
    expect(await positions({ fromPosition: 1n }, 4)).toEqual([2n, 3n, 4n, 5n]);
    // An exact multiple of the page: the last page is empty and ends the read.
    expect(await positions({ fromPosition: 1n })).toEqual([2n, 3n, 4n, 5n, 6n, 7n]);

    const db = new Database(path);
    db.prepare("UPDATE events SET data = '{not json' WHERE position = 5").run();
    db.close();
    const delivered: bigint[] = [];
    await expect(
      (async () => {
        for await (const e of store.readAll()) delivered.push(e.position);
      })(),
    ).rejects.toBeInstanceOf(SyntaxError);
    // Every readable event up to the broken one, so a projection's checkpoint and the report name position 5.
    expect(delivered).toEqual([1n, 2n, 3n, 4n]);
    await store.close();
  });

  it('given an append of 120 events, then positions follow revisions, a repeat returns the first result, and one stored id among 80 new ones writes none of them', async () => {
    const store = openSqliteEventStore({ path });
    const events = Array.from({ length: 120 }, (_, i) => event(i));
    const first = await store.append('s', events, expected.noStream);
    const read = await store.readStream('s');
    expect(first).toEqual({ nextRevision: 119, position: 120n, hashes: read.map((e) => e.metadata.hash) });
    expect(read.map((e) => [e.revision, e.position])).toEqual(events.map((_, i) => [i, BigInt(i + 1)]));
    expect(read.map((e) => e.data)).toEqual(events.map((e) => e.data));
    expect(await store.verifyStream('s')).toEqual({ ok: true, checked: 120 });
    expect(await store.append('s', events, expected.noStream)).toEqual(first);

    // The 60 events before the stored id were inserted first: the savepoint takes them back.
    const mixed = Array.from({ length: 80 }, (_, i) => (i === 60 ? events[3]! : event(1000 + i)));
    await expect(store.append('t', mixed, expected.noStream)).rejects.toMatchObject({ rule: 'store.partial_repeat' });
    await expect(store.readStream('t')).rejects.toBeInstanceOf(StreamNotFoundError);
    expect(await store.headPosition()).toBe(120n);
    expect(await store.append('t', [event(2000)], expected.noStream)).toMatchObject({ nextRevision: 0, position: 121n });
    await store.close();
  });

  it('given 64 appends issued together, then they share one commit (one recordedAt) yet keep their own outcomes', async () => {
    let commits = 0;
    // Each transaction reads the clock once, so distinct recordedAt values count commits.
    const store = openSqliteEventStore({ path, now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, commits++)) });
    const results = await Promise.allSettled(
      Array.from({ length: 64 }, (_, i) => store.append(`s-${i % 8}`, [event(i)], i === 13 ? expected.noStream : expected.any)),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(commits).toBe(1);
    const all: RecordedEvent[] = [];
    for await (const e of store.readAll()) all.push(e);
    expect(all).toHaveLength(63);
    expect(new Set(all.map((e) => e.metadata.recordedAt)).size).toBe(1);
    await store.close();
  });

  it('given two stores on one file taking turns on a stream, then each sees the other\'s head: revisions, conflicts and the chain hold', async () => {
    const a = openSqliteEventStore({ path });
    const b = openSqliteEventStore({ path });
    await a.append('s', [event(0)], expected.noStream);
    await b.append('s', [event(1)], expected.exact(0));
    // A's own last append left it at revision 0; B has moved the stream on since.
    await expect(a.append('s', [event(2)], expected.exact(0))).rejects.toBeInstanceOf(WrongExpectedVersionError);
    expect(await a.append('s', [event(2)], expected.exact(1))).toMatchObject({ nextRevision: 2 });
    await b.append('s', [event(3), event(4)], expected.exact(2));
    expect(await a.append('s', [event(5)], expected.any)).toMatchObject({ nextRevision: 5 });
    expect(await a.verifyStream('s')).toEqual({ ok: true, checked: 6 });
    expect((await b.readStream('s')).map((e) => e.data)).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ n })));
    await a.close();
    await b.close();
  });

  it('given a one-event append whose id is stored, in a group with others, then only it is refused and the rest commit', async () => {
    const store = openSqliteEventStore({ path });
    const first = event(0);
    await store.append('s', [first], expected.noStream);
    const reused = { ...event(9), metadata: { ...event(9).metadata, eventId: first.metadata.eventId } };
    const results = await Promise.allSettled([
      store.append('t', [event(1)], expected.noStream),
      store.append('u', [reused], expected.noStream),
      store.append('t', [event(2)], expected.exact(0)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ rule: 'store.event_id_in_other_stream' });
    await expect(store.readStream('u')).rejects.toBeInstanceOf(StreamNotFoundError);
    expect(await store.verifyAll()).toEqual({ ok: true, checked: 3 });
    await store.close();
  });

  it('resolves an append only once its rows are visible to another connection', async () => {
    const store = openSqliteEventStore({ path });
    const other = new Database(path, { readonly: true });
    const pending = store.append('s', [event(1), event(2)], expected.noStream);
    expect((other.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(0);
    await pending;
    expect((other.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(2);
    other.close();
    await store.close();
  });

  it('uses WAL with synchronous FULL by default and NORMAL when configured', async () => {
    const full = openSqliteEventStore({ path });
    await full.append('s', [event(1)], expected.any);
    await full.close();
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    // synchronous is per connection: read it back through a store opened with NORMAL.
    const normal = openSqliteEventStore({ path: join(dir, 'normal.db'), synchronous: 'NORMAL' });
    await normal.append('s', [event(1)], expected.any);
    await normal.close();
  });

  it('wakes a subscription for an append made by another connection (another process) through the data_version poll', async () => {
    const reader = openSqliteEventStore({ path, crossProcessPollMs: 20 });
    const writer = openSqliteEventStore({ path });
    const subscription = reader.subscribeToAll();
    const got: number[] = [];
    const consuming = (async () => {
      for await (const e of subscription) {
        got.push((e.data as { n: number }).n);
        if (got.length === 2) break;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writer.append('s', [event(1)], expected.any);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writer.append('s', [event(2)], expected.any);
    await consuming;
    expect(got).toEqual([1, 2]);
    await subscription.close();
    await writer.close();
    await reader.close();
  });

  it('commits appends accepted before close', async () => {
    const store = openSqliteEventStore({ path });
    const pending = store.append('s', [event(1)], expected.any);
    await store.close();
    await expect(pending).resolves.toMatchObject({ nextRevision: 0 });
    const again = openSqliteEventStore({ path });
    expect(await again.readStream('s')).toHaveLength(1);
    await again.close();
  });

  it('refuses events with invalid metadata with a validation error, writing nothing', async () => {
    const store = openSqliteEventStore({ path });
    const bad = { ...event(1), metadata: { ...event(1).metadata, eventId: 'not-a-uuid' } };
    await expect(store.append('s', [event(0), bad], expected.any)).rejects.toMatchObject({ code: 'validation', rule: 'store.event_metadata' });
    await expect(store.append('s', [], expected.any)).rejects.toMatchObject({ rule: 'store.empty_append' });
    expect(await store.headPosition()).toBe(-1n);
    await store.close();
  });
  it('given a filtered subscription, when non-matching events are appended, then its next query starts after them and a later match is delivered once', async () => {
    const scans: bigint[] = [];
    const store = openSqliteEventStore({ path, readBatchSize: 3, onSubscriptionScan: (after) => scans.push(after) });
    // Catch-up spans several short batches of interleaved matching and non-matching events.
    for (let i = 0; i < 10; i++) {
      await store.append(`problem-${i}`, [event(i)], expected.any);
      await store.append(`other-${i}`, [event(100 + i)], expected.any);
    }
    const subscription = store.subscribeToAll({ filter: { streamPrefixes: ['problem-'] } });
    const got: number[] = [];
    const consuming = (async () => {
      for await (const e of subscription) {
        got.push((e.data as { n: number }).n);
        if (got.length === 11) break;
      }
    })();
    const settle = async (position: bigint) => {
      for (let waited = 0; (scans.at(-1) ?? 0n) < position && waited < 2000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    // Caught up: the last query started at the head (an 'other-' event), not at the last match.
    await settle(20n);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(scans.at(-1)).toBe(20n);
    for (let i = 0; i < 50; i++) await store.append(`other-live-${i}`, [event(200 + i)], expected.any);
    // The last append's wake-up query starts after the 69th event; before the fix it restarted at 19.
    await settle(69n);
    expect(scans.at(-1)).toBeGreaterThanOrEqual(69n);
    await store.append('problem-last', [event(999)], expected.any);
    await consuming;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 999]);
    await subscription.close();
    await store.close();
  });

  /** 3,000 one-event appends of about 1 KB, 100 at a time: past the checkpoint thread's MB, under the connection's own 40 MB of WAL. */
  const appendThreeMegabytes = async (store: EventStore) => {
    const text = 'x'.repeat(1000);
    for (let batch = 0; batch < 30; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.append(`s-${batch}-${i}`, [{ ...event(i), data: { text } }], expected.noStream)));
    }
  };

  it('copies the WAL into the file from a thread of its own, long before the appending connection would (its backstop, 10,000 pages)', async () => {
    const store = openSqliteEventStore({ path });
    const fileBefore = statSync(path).size;
    await appendThreeMegabytes(store);
    await expect.poll(() => statSync(path).size, { timeout: 10_000 }).toBeGreaterThan(fileBefore + (2 << 20));
    // Whatever the thread did, every acknowledged event is read back, in order.
    let n = 0;
    for await (const e of store.readAll()) expect(e.position).toBe(BigInt(++n));
    expect(n).toBe(3000);
    await store.close();
  });

  it('says once, through onCheckpointFailure, that its checkpoint thread could not open the file, and appends on (the backstop checkpoints)', async () => {
    const failures: Error[] = [];
    const store = openSqliteEventStore({ path, onCheckpointFailure: (error) => failures.push(error) });
    // The open connection keeps the unlinked file; the thread, started on the first MB, finds no file to open.
    rmSync(path);
    await appendThreeMegabytes(store);
    await expect.poll(() => failures.length, { timeout: 10_000 }).toBe(1);
    expect(failures[0]!.message).toMatch(/cannot open .*unable to open database file/);
    await store.append('after', [event(1)], expected.noStream);
    expect(await store.headPosition()).toBe(3001n);
    await store.close();
    expect(failures).toHaveLength(1);
  });
});
