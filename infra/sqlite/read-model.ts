import Database from 'better-sqlite3';
import type {
  Collection,
  CommitBatch,
  KeyspaceWriter,
  ParkedEvent,
  ReadModelReader,
  ReadModelStore,
  RowOf,
  RowWrite,
  Snapshot,
  SnapshotPieces,
  SubtreePage,
} from '../../services/ports/read-model.js';
import { startWalCheckpointer } from './wal-checkpointer.js';

/**
 * The embedded read-model store for `npm start` without Redis: one SQLite file that survives a restart.
 * Every keyspace lives in the same tables, told apart by the `ks` column; a commit is one SQLite
 * transaction holding the row changes and the checkpoint together.
 */
export interface SqliteReadModelOptions {
  /** File path, or ':memory:' for throwaway use. */
  path: string;
  /** Crash simulation for the consistency tests: called inside the transaction, halfway through a commit. */
  faults?: { midCommit?: () => void };
  /** Told once if the WAL's checkpoint thread fails; the connection's own checkpoints carry on. */
  onCheckpointFailure?: (error: Error) => void;
}

/**
 * A 32 MB page cache (the default is 2 MB) keeps the rows a batch rewrites in memory instead of reading each
 * page back from the file, and a WAL checkpoint every 16,384 pages (64 MB; the default is 1,000) lets a page
 * rewritten by several batches reach the file once: a batch of 5,000 events rewrites more than 1,000 pages, so
 * before, every commit also ran a checkpoint with its fsync. Neither alone moved a rebuild much; together they
 * made it about twice as fast (docs/ledgers.md). That checkpoint is now the backstop: a thread of its own
 * (wal-checkpointer.ts) copies the WAL every 16 MB written, off the projection's thread. The read model is
 * rebuilt from the events after any loss, so synchronous=NORMAL (no fsync per commit) is enough here.
 */
const schema = `
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = NORMAL;
  PRAGMA cache_size = -32768;
  PRAGMA wal_autocheckpoint = 16384;
  CREATE TABLE IF NOT EXISTS rm_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS rm_keyspace (ks INTEGER PRIMARY KEY, checkpoint INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS rm_row (
    ks INTEGER NOT NULL, coll TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (ks, coll, key));
  CREATE TABLE IF NOT EXISTS rm_subtree (
    ks INTEGER NOT NULL, coll TEXT NOT NULL, ancestor TEXT NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY (ks, coll, ancestor, key)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS rm_deadline (
    ks INTEGER NOT NULL, ancestor TEXT NOT NULL, key TEXT NOT NULL, deadline_ms INTEGER NOT NULL,
    PRIMARY KEY (ks, ancestor, key)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS rm_deadline_by_time ON rm_deadline (ks, ancestor, deadline_ms);
  CREATE TABLE IF NOT EXISTS rm_parked (
    ks INTEGER NOT NULL, position INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (ks, position)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS rm_snapshot (
    ks INTEGER NOT NULL, position INTEGER NOT NULL, recorded_at TEXT NOT NULL, length INTEGER NOT NULL,
    PRIMARY KEY (ks, position));
  CREATE TABLE IF NOT EXISTS rm_snapshot_piece (
    ks INTEGER NOT NULL, position INTEGER NOT NULL, n INTEGER NOT NULL, bytes BLOB NOT NULL,
    PRIMARY KEY (ks, position, n));
`;

/**
 * 2: rows in a rowid table (documents of a kilobyte in a WITHOUT ROWID tree made every batch about three times
 * slower to write). 3: snapshots in pieces of a MiB (SNAPSHOT_PIECE). An older file's ledgers are dropped and
 * rebuilt from the events, as after any loss.
 */
const SCHEMA_VERSION = 3;

/**
 * A snapshot is stored in pieces of this many bytes, so an inspection reading one county's part of it reads the
 * pieces that hold that part: SQLite reads a whole value to take a substring of it, and a snapshot of 1M events
 * is 90 MB (75 ms for each of the three reads an inspection makes of it).
 */
const SNAPSHOT_PIECE = 1 << 20;

export function createSqliteReadModel(options: SqliteReadModelOptions): ReadModelStore {
  const db = new Database(options.path);
  if ((db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) {
    db.transaction(() => {
      for (const table of ['rm_meta', 'rm_keyspace', 'rm_row', 'rm_subtree', 'rm_deadline', 'rm_parked', 'rm_snapshot', 'rm_snapshot_piece']) db.exec(`DROP TABLE IF EXISTS ${table}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }
  db.exec(schema);
  // The WAL is copied into the file by a thread of its own, every 16 MB of rows and snapshots (a page
  // rewritten by several batches in between is copied once); the autocheckpoint above is the backstop.
  const checkpointer = startWalCheckpointer(options.path, { synchronous: 'NORMAL', everyBytes: 16 << 20, onFailure: options.onCheckpointFailure });
  /** Bytes of rows in the commit being written (a snapshot's are counted by its save). */
  let written = 0;

  const stmt = {
    getMeta: db.prepare<[string], { v: string }>('SELECT v FROM rm_meta WHERE k = ?'),
    setMeta: db.prepare<[string, string]>('INSERT INTO rm_meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v'),
    maxKs: db.prepare<[], { ks: number | null }>('SELECT max(ks) AS ks FROM rm_keyspace'),
    addKs: db.prepare<[number]>('INSERT INTO rm_keyspace (ks, checkpoint) VALUES (?, -1)'),
    checkpoint: db.prepare<[number], { checkpoint: bigint }>('SELECT checkpoint FROM rm_keyspace WHERE ks = ?').safeIntegers(true),
    setCheckpoint: db.prepare<[bigint, number]>('UPDATE rm_keyspace SET checkpoint = ? WHERE ks = ?'),
    getRow: db.prepare<[number, string, string], { doc: string }>('SELECT doc FROM rm_row WHERE ks = ? AND coll = ? AND key = ?'),
    putRow: db.prepare<[number, string, string, string]>(
      'INSERT INTO rm_row (ks, coll, key, doc) VALUES (?, ?, ?, ?) ON CONFLICT (ks, coll, key) DO UPDATE SET doc = excluded.doc',
    ),
    deleteRow: db.prepare<[number, string, string]>('DELETE FROM rm_row WHERE ks = ? AND coll = ? AND key = ?'),
    addSubtree: db.prepare<[number, string, string, string]>('INSERT OR IGNORE INTO rm_subtree (ks, coll, ancestor, key) VALUES (?, ?, ?, ?)'),
    deleteSubtree: db.prepare<[number, string, string, string]>('DELETE FROM rm_subtree WHERE ks = ? AND coll = ? AND ancestor = ? AND key = ?'),
    listSubtree: db.prepare<[number, string, string, string, number], { doc: string }>(
      `SELECT r.doc FROM rm_subtree s JOIN rm_row r ON r.ks = s.ks AND r.coll = s.coll AND r.key = s.key
       WHERE s.ks = ? AND s.coll = ? AND s.ancestor = ? AND s.key > ? ORDER BY s.key LIMIT ?`,
    ),
    putDeadline: db.prepare<[number, string, string, number]>(
      'INSERT INTO rm_deadline (ks, ancestor, key, deadline_ms) VALUES (?, ?, ?, ?) ON CONFLICT (ks, ancestor, key) DO UPDATE SET deadline_ms = excluded.deadline_ms',
    ),
    deleteDeadline: db.prepare<[number, string, string]>('DELETE FROM rm_deadline WHERE ks = ? AND ancestor = ? AND key = ?'),
    countDeadlines: db.prepare<[number, string, number], { n: number }>(
      'SELECT count(*) AS n FROM rm_deadline WHERE ks = ? AND ancestor = ? AND deadline_ms < ?',
    ),
    scanRows: db.prepare<[number], { coll: string; key: string; doc: string }>('SELECT coll, key, doc FROM rm_row WHERE ks = ?'),
    putParked: db.prepare<[number, bigint, string]>('INSERT OR REPLACE INTO rm_parked (ks, position, doc) VALUES (?, ?, ?)'),
    listParked: db.prepare<[number], { doc: string }>('SELECT doc FROM rm_parked WHERE ks = ? ORDER BY position'),
    deleteParked: db.prepare<[number, bigint]>('DELETE FROM rm_parked WHERE ks = ? AND position = ?'),
    putSnapshot: db.prepare<[number, bigint, string, number]>(
      'INSERT OR REPLACE INTO rm_snapshot (ks, position, recorded_at, length) VALUES (?, ?, ?, ?)',
    ),
    deletePieces: db.prepare<[number, bigint]>('DELETE FROM rm_snapshot_piece WHERE ks = ? AND position = ?'),
    putPiece: db.prepare<[number, bigint, number, Buffer]>('INSERT INTO rm_snapshot_piece (ks, position, n, bytes) VALUES (?, ?, ?, ?)'),
    findSnapshotRef: db
      .prepare<[number, bigint, string], { position: bigint; recorded_at: string; length: bigint }>(
        'SELECT position, recorded_at, length FROM rm_snapshot WHERE ks = ? AND position <= ? AND recorded_at <= ? ORDER BY position DESC LIMIT 1',
      )
      .safeIntegers(true),
    pieces: db.prepare<[number, bigint, number, number], { bytes: Buffer }>(
      'SELECT bytes FROM rm_snapshot_piece WHERE ks = ? AND position = ? AND n BETWEEN ? AND ? ORDER BY n',
    ),
    dropKs: [
      'DELETE FROM rm_row WHERE ks = ?',
      'DELETE FROM rm_subtree WHERE ks = ?',
      'DELETE FROM rm_deadline WHERE ks = ?',
      'DELETE FROM rm_parked WHERE ks = ?',
      'DELETE FROM rm_snapshot WHERE ks = ?',
      'DELETE FROM rm_snapshot_piece WHERE ks = ?',
      'DELETE FROM rm_keyspace WHERE ks = ?',
    ].map((sql) => db.prepare<[number]>(sql)),
  };

  const saveSnapshotTx = db.transaction((ks: number, snapshot: Snapshot) => {
    const { state } = snapshot;
    stmt.deletePieces.run(ks, snapshot.position);
    for (let n = 0; n * SNAPSHOT_PIECE < state.length; n++) {
      stmt.putPiece.run(ks, snapshot.position, n, state.subarray(n * SNAPSHOT_PIECE, (n + 1) * SNAPSHOT_PIECE));
    }
    stmt.putSnapshot.run(ks, snapshot.position, snapshot.recordedAt, state.length);
  });

  function findSnapshotPieces(ks: number, at: { position?: bigint; time?: string }): SnapshotPieces | undefined {
    // '~' sorts after every ISO time, so "no time bound" is just a bound that everything meets.
    const row = stmt.findSnapshotRef.get(ks, at.position ?? BigInt(Number.MAX_SAFE_INTEGER), at.time ?? '~');
    if (!row) return undefined;
    const { position } = row;
    const size = Number(row.length);
    return {
      position,
      recordedAt: row.recorded_at,
      read: async (start, end) => {
        const to = Math.min(end ?? size, size);
        if (to <= start) return Buffer.alloc(0);
        const first = Math.floor(start / SNAPSHOT_PIECE);
        const pieces = stmt.pieces.all(ks, position, first, Math.floor((to - 1) / SNAPSHOT_PIECE)).map((piece) => piece.bytes);
        const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
        return bytes.subarray(start - first * SNAPSHOT_PIECE, to - first * SNAPSHOT_PIECE);
      },
    };
  }

  const createKs = db.transaction((): number => {
    const next = (stmt.maxKs.get()?.ks ?? 0) + 1;
    stmt.addKs.run(next);
    return next;
  });

  const activeId = (): number => {
    const row = stmt.getMeta.get('active');
    if (row) return Number(row.v);
    // A fresh file: keyspace 1 is created and made active, so readers always have something to read.
    return db.transaction(() => {
      const again = stmt.getMeta.get('active');
      if (again) return Number(again.v);
      const id = createKs();
      stmt.setMeta.run('active', String(id));
      return id;
    })();
  };

  const commitTx = db.transaction((ks: number, batch: CommitBatch) => {
    const half = Math.floor(batch.writes.length / 2);
    batch.writes.forEach((write, i) => {
      if (i === half) options.faults?.midCommit?.();
      applyWrite(ks, write);
    });
    for (const parked of batch.parked) stmt.putParked.run(ks, BigInt(parked.position), JSON.stringify(parked));
    stmt.setCheckpoint.run(batch.checkpoint, ks);
  });

  function applyWrite(ks: number, write: RowWrite): void {
    if (write.row === null) {
      stmt.deleteRow.run(ks, write.collection, write.key);
      for (const a of write.ancestors) stmt.deleteSubtree.run(ks, write.collection, a, write.key);
    } else {
      const doc = write.doc ?? JSON.stringify(write.row);
      stmt.putRow.run(ks, write.collection, write.key, doc);
      written += doc.length;
      if (write.isNew !== false) for (const a of write.ancestors) stmt.addSubtree.run(ks, write.collection, a, write.key);
    }
    if (write.openDeadlineMs !== undefined) {
      for (const a of write.ancestors) {
        if (write.openDeadlineMs === null || write.row === null) stmt.deleteDeadline.run(ks, a, write.key);
        else stmt.putDeadline.run(ks, a, write.key, write.openDeadlineMs);
      }
    }
  }

  function reader(ks: () => number): ReadModelReader {
    return {
      async get<C extends Collection>(collection: C, key: string) {
        const row = stmt.getRow.get(ks(), collection, key);
        return row ? (JSON.parse(row.doc) as RowOf[C]) : undefined;
      },
      async getMany<C extends Collection>(collection: C, keys: readonly string[]) {
        const id = ks();
        return keys.map((key) => {
          const row = stmt.getRow.get(id, collection, key);
          return row ? (JSON.parse(row.doc) as RowOf[C]) : undefined;
        });
      },
      async listSubtree<C extends Collection>(collection: C, unitId: string, page: SubtreePage) {
        return stmt.listSubtree.all(ks(), collection, unitId, page.afterKey ?? '', page.limit).map((r) => JSON.parse(r.doc) as RowOf[C]);
      },
      async countOpenDeadlinesBefore(unitId: string, epochMs: number) {
        return stmt.countDeadlines.get(ks(), unitId, epochMs)?.n ?? 0;
      },
      async checkpoint() {
        return stmt.checkpoint.get(ks())?.checkpoint ?? -1n;
      },
    };
  }

  function writer(id: number): KeyspaceWriter {
    return {
      id,
      ...reader(() => id),
      async commit(batch: CommitBatch) {
        written = 0;
        commitTx(id, batch);
        checkpointer.written(written);
      },
      async *scanAll(): AsyncIterable<RowWrite> {
        for (const r of stmt.scanRows.iterate(id)) {
          const row = JSON.parse(r.doc) as RowOf[Collection] & { ancestors: string[] };
          yield { collection: r.coll as Collection, key: r.key, row, ancestors: row.ancestors };
        }
      },
      async parked() {
        return stmt.listParked.all(id).map((r) => JSON.parse(r.doc) as ParkedEvent);
      },
      async dismissParked(position: string) {
        return stmt.deleteParked.run(id, BigInt(position)).changes > 0;
      },
      async saveSnapshot(snapshot: Snapshot) {
        saveSnapshotTx(id, snapshot);
        checkpointer.written(snapshot.state.length);
      },
      async findSnapshot(at: { position?: bigint; time?: string }) {
        const found = findSnapshotPieces(id, at);
        return found && { position: found.position, recordedAt: found.recordedAt, state: await found.read(0) };
      },
      async findSnapshotPieces(at: { position?: bigint; time?: string }) {
        return findSnapshotPieces(id, at);
      },
    };
  }

  return {
    kind: 'sqlite',
    active: reader(activeId),
    async activeKeyspace() {
      return activeId();
    },
    keyspace: writer,
    async createKeyspace() {
      activeId();
      return writer(createKs());
    },
    async activate(id: number) {
      stmt.setMeta.run('active', String(id));
    },
    async dropKeyspace(id: number) {
      if (id === activeId()) throw new Error(`keyspace ${id} is active and cannot be dropped`);
      db.transaction(() => {
        for (const s of stmt.dropKs) s.run(id);
      })();
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      db.close();
      await checkpointer.close();
    },
  };
}
