import Database from 'better-sqlite3';
import type { NewEvent, RecordedEvent } from '../../events/envelope.js';
import {
  type AppendResult,
  type EventFilter,
  type EventStore,
  type ReadStreamOptions,
  type SubscribeOptions,
  type Subscription,
  StreamNotFoundError,
} from '../../services/ports/event-store.js';
import { checkExpected, validateNewEvents } from '../event-store/append-rules.js';
import { linkEvent } from '../event-store/audit-chain.js';
import { resolveRepeatedAppend, type StoredEventRef } from '../event-store/idempotency.js';
import {
  EVENT_COLUMNS,
  eventFromRow,
  type PendingAppend,
  pollingSubscription,
  readRowsInBatches,
  streamInBatches,
  verifyEvents,
} from '../event-store/reading.js';
import { startWalCheckpointer } from './wal-checkpointer.js';

export interface SqliteEventStoreOptions {
  /** The database file; created with its schema when missing. */
  path: string;
  /** FULL (default) fsyncs the WAL at every commit; NORMAL may lose the last commits on power loss. */
  synchronous?: 'FULL' | 'NORMAL';
  /** Events fetched per query by readAll, subscriptions and verification. */
  readBatchSize?: number;
  /**
   * A waiting subscription is woken at once by appends made through this store; appends made by another
   * process on the same file are noticed by a check of `PRAGMA data_version` at this interval.
   */
  crossProcessPollMs?: number;
  /** Most appends committed together in one transaction. */
  maxGroupSize?: number;
  /** Source of `recordedAt`. */
  now?: () => Date;
  /** Observes where each subscription query starts (the position it reads after); for tests and diagnostics. */
  onSubscriptionScan?: (after: bigint) => void;
  /** Told once if the WAL's checkpoint thread fails; the appending connection's own checkpoints carry on. */
  onCheckpointFailure?: (error: Error) => void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position  INTEGER PRIMARY KEY,
  stream_id TEXT    NOT NULL,
  revision  INTEGER NOT NULL,
  event_id  TEXT    NOT NULL,
  type      TEXT    NOT NULL,
  data      TEXT    NOT NULL,
  metadata  TEXT    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events (stream_id, revision);
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (event_id);
`;

type Row = [position: number, streamId: string, revision: number, type: string, data: string, metadata: string];

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * The embedded event store: one SQLite file in WAL mode. Appends from concurrent callers are grouped
 * into one transaction (group commit), each in its own savepoint so one caller's conflict never fails
 * another's; every promise resolves only after the shared COMMIT has returned.
 */
export function openSqliteEventStore(options: SqliteEventStoreOptions): EventStore & { readonly path: string } {
  const db = new Database(options.path);
  const synchronous = options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL';
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('busy_timeout = 5000');
  // The WAL is copied into the file by a thread of its own (wal-checkpointer.ts), every MB or so of rows.
  // This connection's own checkpoint, on the appending thread, is the backstop: at 10,000 pages (40 MB of
  // WAL; SQLite's default is 1,000), it runs only if that thread is gone or behind.
  db.pragma('wal_autocheckpoint = 10000');
  db.exec(SCHEMA);
  const checkpointer = startWalCheckpointer(options.path, { synchronous, onFailure: options.onCheckpointFailure });
  /** Bytes of rows in the group being committed. */
  let groupBytes = 0;

  const batchSize = options.readBatchSize ?? 1000;
  const pollMs = options.crossProcessPollMs ?? 500;
  const maxGroupSize = options.maxGroupSize ?? 512;
  const now = options.now ?? (() => new Date());
  const onSubscriptionScan = options.onSubscriptionScan;

  const headOfStream = db.prepare<[string], [number, string]>(
    'SELECT revision, metadata FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1',
  ).raw(true);
  const insert = db.prepare<[string, number, string, string, string, string]>(
    'INSERT INTO events (stream_id, revision, event_id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const maxPosition = db.prepare<[], [number | null]>('SELECT max(position) FROM events').raw(true);
  const byEventId = db.prepare<[string], [number, string, number, string, string, string]>(
    'SELECT position, stream_id, revision, type, data, metadata FROM events WHERE event_id = ?',
  ).raw(true);
  const streamForwards = db.prepare<[string, number, number], Row>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`,
  ).raw(true);
  const streamBackwards = db.prepare<[string, number, number], Row>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`,
  ).raw(true);
  // The usual read, a whole stream or its tail, binds no LIMIT: binding -1 cost a measurable share of a read.
  const streamFrom = db.prepare<[string, number], Row>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision`,
  ).raw(true);
  const dataVersion = db.prepare<[], [number]>('PRAGMA data_version').raw(true);

  const selectAfter = new Map<string, Database.Statement<unknown[], Row>>();
  function readRows(after: bigint, filter: EventFilter | undefined, to: bigint | undefined): Row[] {
    const prefixes = filter?.streamPrefixes ?? [];
    const types = filter?.types ?? [];
    const shape = `${prefixes.length}:${types.length}:${to === undefined ? 0 : 1}`;
    let statement = selectAfter.get(shape);
    if (!statement) {
      const conditions = ['position > ?'];
      if (to !== undefined) conditions.push('position <= ?');
      if (prefixes.length > 0) {
        // Each prefix is bound twice: SQLite measures it in characters, as substr counts.
        conditions.push(`(${prefixes.map(() => 'substr(stream_id, 1, length(?)) = ?').join(' OR ')})`);
      }
      if (types.length > 0) conditions.push(`type IN (${types.map(() => '?').join(', ')})`);
      const sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE ${conditions.join(' AND ')} ORDER BY position LIMIT ?`;
      statement = db.prepare<unknown[], Row>(sql).raw(true);
      selectAfter.set(shape, statement);
    }
    const params: unknown[] = [Number(after)];
    if (to !== undefined) params.push(Number(to));
    for (const prefix of prefixes) params.push(prefix, prefix);
    params.push(...types, batchSize);
    return statement.all(...params);
  }
  function readBatch(after: bigint, filter: EventFilter | undefined, to: bigint | undefined): RecordedEvent[] {
    const rows = readRows(after, filter, to);
    const out = new Array<RecordedEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = eventFromRow(rows[i]!);
    return out;
  }

  function storedRefs(events: readonly NewEvent[]): Map<string, StoredEventRef> {
    const stored = new Map<string, StoredEventRef>();
    for (const event of events) {
      const row = byEventId.get(event.metadata.eventId);
      if (row) {
        stored.set(event.metadata.eventId, {
          position: BigInt(row[0]),
          streamId: row[1],
          revision: row[2],
          type: row[3],
          dataText: row[4],
          hash: (JSON.parse(row[5]) as { hash: string }).hash,
        });
      }
    }
    return stored;
  }

  /**
   * Heads of the streams this store wrote, valid while no other connection has committed: `PRAGMA
   * data_version` (read under the write lock) changes exactly when one has, and the cache is then
   * dropped. Saves a query and a JSON.parse per append.
   */
  const knownHeads = new Map<string, { revision: number; hash: string }>();
  let knownVersion: number | undefined;
  function rememberHead(streamId: string, revision: number, hash: string): void {
    if (knownHeads.size >= 100_000 && !knownHeads.has(streamId)) knownHeads.clear();
    knownHeads.set(streamId, { revision, hash });
  }
  function headOf(streamId: string): { revision: number; hash: string | null } {
    const known = knownHeads.get(streamId);
    if (known) return known;
    const head = headOfStream.get(streamId);
    return head ? { revision: head[0], hash: (JSON.parse(head[1]) as { hash: string }).hash } : { revision: -1, hash: null };
  }

  /** One append inside the open transaction; throws to have its savepoint (or its one INSERT) rolled back. */
  function appendInTransaction(request: PendingAppend, recordedAt: string): AppendResult {
    const { streamId, events, expectedRevision } = request;
    const head = headOf(streamId);
    const current = head.revision;
    try {
      checkExpected(streamId, expectedRevision, current);
    } catch (conflict) {
      // A retry of an append that was acknowledged before the stream moved on is not a conflict.
      const repeat = resolveRepeatedAppend(streamId, events, storedRefs(events));
      if (repeat) return repeat;
      throw conflict;
    }
    let prevHash = head.hash;
    let revision = current;
    let position = 0;
    const hashes = new Array<string>(events.length);
    try {
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!;
        revision++;
        const linked = linkEvent(streamId, revision, event, recordedAt, prevHash);
        const info = insert.run(streamId, revision, event.metadata.eventId, event.type, linked.dataText, linked.metadataText);
        position = Number(info.lastInsertRowid);
        prevHash = hashes[i] = linked.hash;
        groupBytes += linked.dataText.length + linked.metadataText.length;
      }
    } catch (error) {
      // The unique index on event_id is the cheap first line of idempotency: only a collision pays for lookups.
      if (!isUniqueViolation(error)) throw error;
      throw new RepeatDetected();
    }
    rememberHead(streamId, revision, prevHash!);
    return { nextRevision: revision, position: BigInt(position), hashes };
  }

  const appendOne = db.transaction(appendInTransaction);
  const commitGroup = db.transaction((group: PendingAppend[], recordedAt: string) => {
    const version = dataVersion.get()![0];
    if (version !== knownVersion) {
      knownHeads.clear();
      knownVersion = version;
    }
    const outcomes: Array<{ ok: true; result: AppendResult } | { ok: false; error: unknown }> = [];
    for (const request of group) {
      try {
        // A nested better-sqlite3 transaction is a SAVEPOINT, rolled back alone when it throws. One event
        // needs none: everything that can refuse it runs before its one INSERT, and a failing INSERT
        // (a stored event id) is undone by SQLite on its own, leaving the rest of the group as it was.
        const result = request.events.length === 1 ? appendInTransaction(request, recordedAt) : appendOne(request, recordedAt);
        outcomes.push({ ok: true, result });
      } catch (error) {
        if (error instanceof RepeatDetected) {
          try {
            const repeat = resolveRepeatedAppend(request.streamId, request.events, storedRefs(request.events));
            // Without a stored id the collision was on (stream, revision): impossible under the write lock.
            if (!repeat) throw new Error(`unexpected unique violation appending to ${request.streamId}`);
            outcomes.push({ ok: true, result: repeat });
          } catch (refusal) {
            outcomes.push({ ok: false, error: refusal });
          }
        } else {
          outcomes.push({ ok: false, error });
        }
      }
    }
    return outcomes;
  });

  let queue: PendingAppend[] = [];
  let flushScheduled = false;
  let closed = false;
  const waiters = new Set<() => void>();

  function flush(): void {
    flushScheduled = false;
    while (queue.length > 0) {
      const group = queue.slice(0, maxGroupSize);
      queue = queue.slice(group.length);
      let outcomes: ReturnType<typeof commitGroup>;
      groupBytes = 0;
      try {
        outcomes = commitGroup.immediate(group, now().toISOString());
      } catch (error) {
        knownHeads.clear();
        // The COMMIT itself failed (disk full, I/O error): nothing of the group is durable.
        for (const request of group) request.reject(error);
        continue;
      }
      checkpointer.written(groupBytes);
      group.forEach((request, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) request.resolve(outcome.result);
        else request.reject(outcome.error);
      });
      if (outcomes.some((o) => o.ok)) notifyWaiters();
    }
  }

  function notifyWaiters(): void {
    for (const wake of waiters) wake();
    waiters.clear();
  }

  /** Resolves on the next append through this store, on a commit by another process, or on close. */
  function waitForAppend(isClosed: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const seenVersion = dataVersion.get()![0];
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const poll = () => {
        if (closed || isClosed() || dataVersion.get()![0] !== seenVersion) done();
        else timer = setTimeout(poll, pollMs);
      };
      waiters.add(done);
      timer = setTimeout(poll, pollMs);
    });
  }

  function assertOpen(): void {
    if (closed) throw new Error('event store is closed');
  }

  return {
    path: options.path,

    append(streamId, events, expectedRevision) {
      try {
        assertOpen();
        validateNewEvents(streamId, events);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ streamId, events, expectedRevision, resolve, reject });
        if (!flushScheduled) {
          flushScheduled = true;
          // Appends arriving in the same turn of the event loop share one transaction and one fsync.
          setImmediate(flush);
        }
      });
    },

    async readStream(streamId, options?: ReadStreamOptions) {
      assertOpen();
      const from = options?.from;
      const backwards = options?.direction === 'backwards';
      const rows = backwards
        ? streamBackwards.all(streamId, from ?? Number.MAX_SAFE_INTEGER, options.limit ?? -1)
        : options?.limit === undefined
          ? streamFrom.all(streamId, from ?? 0)
          : streamForwards.all(streamId, from ?? 0, options.limit);
      if (rows.length === 0) {
        // Revisions start at 0 and are never deleted: nothing from revision 0 on means no stream at all.
        const wholeStream = !backwards && (from ?? 0) <= 0 && options?.limit !== 0;
        if (wholeStream || !headOfStream.get(streamId)) throw new StreamNotFoundError(streamId);
        return [];
      }
      const events = new Array<RecordedEvent>(rows.length);
      for (let i = 0; i < rows.length; i++) events[i] = eventFromRow(rows[i]!);
      return events;
    },

    readAll(options) {
      return readRowsInBatches(readRows, batchSize, {
        from: options?.fromPosition,
        filter: options?.filter,
        to: options?.toPosition,
        assertOpen,
      });
    },

    subscribeToAll(subscribe?: SubscribeOptions): Subscription {
      return pollingSubscription({
        subscribe,
        readBatch,
        batchSize,
        // Rows are numbered under the write lock and never deleted.
        head: () => BigInt(maxPosition.get()![0] ?? 0),
        waitForAppend,
        storeClosed: () => closed,
        onClose: notifyWaiters,
        onScan: onSubscriptionScan,
      });
    },

    async headPosition() {
      assertOpen();
      const max = maxPosition.get()![0];
      return max === null ? -1n : BigInt(max);
    },

    async verifyStream(streamId) {
      assertOpen();
      return verifyEvents(
        streamInBatches((from) => streamForwards.all(streamId, from, batchSize), batchSize, () => new StreamNotFoundError(streamId)),
      );
    },

    async verifyAll() {
      return verifyEvents(readRowsInBatches(readRows, batchSize, { assertOpen }));
    },

    async ping() {
      assertOpen();
      db.prepare('SELECT 1').get();
    },

    async close() {
      if (closed) return;
      // Appends already accepted are committed before the file is closed.
      if (queue.length > 0) flush();
      closed = true;
      notifyWaiters();
      db.close();
      await checkpointer.close();
    },
  };
}

/** Raised inside a savepoint when an event id is already stored; resolved outside it. */
class RepeatDetected extends Error {}
