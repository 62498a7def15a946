import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';

import type { NewEvent, RecordedEvent } from '../../events/envelope.js';
import { openPostgresEventStore } from '../../infra/postgres/event-store.js';
import { type EventStore, expected, WrongExpectedVersionError } from '../../services/ports/event-store.js';
import { describeWithService } from '../setup/services.js';

const writerScript = fileURLToPath(new URL('./fixtures/postgres-writer.ts', import.meta.url));

function newEvent(data: unknown): NewEvent {
  return {
    type: 'N',
    data,
    metadata: {
      eventId: randomUUID(),
      occurredAt: '2026-06-30T23:59:59+08:00',
      actor: { userId: 'u-1', unitId: '533423', role: 'cadre' },
      correlationId: 'corr-1',
      causationId: 'cause-1',
      schemaVersion: 1,
    },
  };
}

/** Runs one writer process to its end; rejects with its output when it fails. */
function runWriter(url: string, schema: string, writer: number, events: number, concurrency: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writerScript, url, schema, String(writer), String(events), String(concurrency)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${writer} exited ${code}:\n${output}`))));
  });
}

describeWithService('postgres', 'PostgreSQL event store', (databaseUrl) => {
  let schema: string;
  const opened: EventStore[] = [];
  const open = async (options: { pollMs?: number } = {}) => {
    const store = await openPostgresEventStore({ connectionString: databaseUrl, schema, ...options });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    schema = `pgstore_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('given writers in four processes while readers tail by position, then no reader skips an event that committed late', async () => {
    const store = await open({ pollMs: 50 });
    const writers = 4;
    const perWriter = 300;
    const total = writers * perWriter;

    // The sequence-gap problem shows itself to a reader polling "after the last position I saw": a
    // transaction that drew a lower position but committed after a higher one was read would be skipped.
    const polled: bigint[] = [];
    const polling = (async () => {
      let after = 0n;
      while (polled.length < total) {
        let read = 0;
        for await (const event of store.readAll({ fromPosition: after })) {
          polled.push(event.position);
          after = event.position;
          read++;
        }
        if (read === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const subscribed: bigint[] = [];
    const subscription = store.subscribeToAll();
    const subscribing = (async () => {
      for await (const event of subscription) {
        subscribed.push(event.position);
        if (subscribed.length === total) break;
      }
    })();

    await Promise.all(Array.from({ length: writers }, (_, w) => runWriter(databaseUrl, schema, w, perWriter, 16)));
    await Promise.race([
      Promise.all([polling, subscribing]),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`readers saw ${polled.length} / ${subscribed.length} of ${total} events`)), 15_000)),
    ]);
    await subscription.close();

    const all: RecordedEvent[] = [];
    for await (const event of store.readAll()) all.push(event);
    expect(all).toHaveLength(total);
    // Positions are handed out in commit order under one lock: gapless, and every reader saw all of them.
    const positions = all.map((e) => e.position);
    expect(positions).toEqual(Array.from({ length: total }, (_, i) => BigInt(i + 1)));
    expect(polled).toEqual(positions);
    expect(subscribed).toEqual(positions);
    expect(new Set(all.map((e) => `${(e.data as { writer: string }).writer}:${(e.data as { n: number }).n}`)).size).toBe(total);
    expect((await store.verifyAll()).ok).toBe(true);
  });

  it('given two stores taking turns on a stream, then a stale guess of its head costs a retry, never a wrong revision, link or position', async () => {
    const a = await open();
    const b = await open();
    await a.append('s', [newEvent(0)], expected.noStream);
    await b.append('s', [newEvent(1)], expected.exact(0));
    // A's own last append left it guessing revision 0; B has moved the stream on since.
    await expect(a.append('s', [newEvent(2)], expected.exact(0))).rejects.toBeInstanceOf(WrongExpectedVersionError);
    const hashAt = async (revision: number) => (await a.readStream('s'))[revision]!.metadata.hash;
    expect(await a.append('s', [newEvent(2)], expected.exact(1))).toEqual({ nextRevision: 2, position: 3n, hashes: [await hashAt(2)] });
    await b.append('s', [newEvent(3), newEvent(4)], expected.exact(2));
    expect(await a.append('s', [newEvent(5)], expected.any)).toEqual({ nextRevision: 5, position: 6n, hashes: [await hashAt(5)] });
    // A repeat of an acknowledged append through the store that guessed: the original result, nothing written.
    const repeated = newEvent(6);
    const first = await a.append('t', [repeated], expected.noStream);
    expect(await b.append('t', [repeated], expected.noStream)).toEqual(first);
    expect(await a.verifyAll()).toEqual({ ok: true, checked: 7 });
    expect((await b.readStream('s')).map((e) => [e.data, e.position])).toEqual([0, 1, 2, 3, 4, 5].map((n) => [n, BigInt(n + 1)]));
  });

  it('shares one transaction among concurrent appends (one recordedAt) and commits pending appends on close', async () => {
    const store = await openPostgresEventStore({ connectionString: databaseUrl, schema });
    const results = Promise.all(Array.from({ length: 64 }, (_, i) => store.append(`g-${i}`, [newEvent({ i })], expected.noStream)));
    await store.close();
    expect(await results).toHaveLength(64);
    const reader = await open();
    const recordedAt = new Set<string>();
    for await (const event of reader.readAll()) recordedAt.add(event.metadata.recordedAt);
    expect(recordedAt.size).toBe(1);
  });

  it('wakes a subscription by NOTIFY when another process appends, long before its poll interval', async () => {
    const subscriber = await open({ pollMs: 60_000 });
    const writer = await open();
    const subscription = subscriber.subscribeToAll();
    const first = (async () => {
      for await (const event of subscription) return event;
      return undefined;
    })();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the subscription is waiting now
    const started = Date.now();
    await writer.append('woken', [newEvent({ n: 1 })], expected.noStream);
    expect((await first)?.streamId).toBe('woken');
    expect(Date.now() - started).toBeLessThan(10_000);
    await subscription.close();
  });
});
