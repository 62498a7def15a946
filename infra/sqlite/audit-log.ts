import Database from 'better-sqlite3';
import {
  type AppendWitness,
  type AuditLog,
  type RefusedEvent,
  SealRaceError,
  type SealedLeaf,
  type SignedDigest,
  type Witness,
  type WitnessedEvent,
} from '../../services/ports/audit-log.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS leaves (
  idx       INTEGER PRIMARY KEY,
  position  TEXT    NOT NULL,
  stream_id TEXT    NOT NULL,
  revision  INTEGER NOT NULL,
  event_id  TEXT    NOT NULL,
  hash      BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS leaves_stream ON leaves (stream_id, revision);
CREATE TABLE IF NOT EXISTS leaf_ids (event_id TEXT PRIMARY KEY, idx INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
-- One row per append, as files written before the witness file held them (over their events' texts).
CREATE TABLE IF NOT EXISTS append_witnesses (last_position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, first_revision INTEGER NOT NULL, macs BLOB NOT NULL);
-- One witness per event, by id: what files written before 2026-12-07 hold for the events not yet sealed then.
CREATE TABLE IF NOT EXISTS witnesses (event_id TEXT PRIMARY KEY, mac BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refused (
  position TEXT PRIMARY KEY, stream_id TEXT NOT NULL, revision INTEGER NOT NULL, event_id TEXT, reason TEXT NOT NULL, seen_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS streams (stream_id TEXT PRIMARY KEY, units TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS digests (tree_size INTEGER NOT NULL, root_hash TEXT NOT NULL, time TEXT NOT NULL, signature TEXT NOT NULL, key_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

type LeafRow = [idx: number, position: string, streamId: string, revision: number, eventId: string, hash: Buffer];
const leafOf = (row: LeafRow): SealedLeaf => ({
  index: row[0],
  position: BigInt(row[1]),
  streamId: row[2],
  revision: row[3],
  eventId: row[4],
  hash: row[5],
});
type DigestRow = [treeSize: number, rootHash: string, time: string, signature: string, keyId: string];
const digestOf = (row: DigestRow): SignedDigest => ({ treeSize: row[0], rootHash: row[1], time: row[2], signature: row[3], keyId: row[4] });
const LEAF_COLUMNS = 'idx, position, stream_id, revision, event_id, hash';

const WITNESS_SCHEMA = `
CREATE TABLE IF NOT EXISTS appends (last_position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, first_revision INTEGER NOT NULL, macs BLOB NOT NULL);
`;
/** The file beside the audit file that holds the witnesses of appends not sealed yet. */
export const witnessFileOf = (auditFile: string): string => `${auditFile}-witnesses`;
/** A witness is an HMAC-SHA256. */
const MAC_BYTES = 32;

export interface SqliteAuditLogOptions {
  /**
   * Leaves are entered in the event-id index (leaf_ids) this many at a time (default 4,096); newer ones
   * are found by a scan of that unindexed tail.
   */
  eventIndexEvery?: number;
}

/**
 * The audit tree in its own SQLite file. WAL with synchronous=NORMAL: a commit lost to a power cut is
 * sealed again from the event store; the witnesses of the last appends may be lost with it, and those
 * events are then reported as unwitnessed rather than silently trusted.
 *
 * Event ids are random, so indexing each chunk's leaves by id as they are sealed would write about one
 * index page per leaf; leaf_ids takes them `eventIndexEvery` at a time instead, so one page written
 * carries many of them.
 */
export function openSqliteAuditLog(path: string, options: SqliteAuditLogOptions = {}): AuditLog {
  const eventIndexEvery = options.eventIndexEvery ?? 4096;
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  // The writers' witnesses in a file of their own, on a connection of their own: a writer's commit there never
  // waits for the sealer's to the tree (SQLite locks each file for writing on its own), and the sealer only reads it.
  const witnessDb = new Database(witnessFileOf(path));
  witnessDb.pragma('journal_mode = WAL');
  witnessDb.pragma('synchronous = NORMAL');
  witnessDb.pragma('busy_timeout = 5000');
  witnessDb.exec(WITNESS_SCHEMA);
  // Files written before leaf_ids indexed every leaf's id on the leaves table: move the ids over once.
  db.transaction(() => {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'leaves_event'").get()) return;
    db.exec(`INSERT OR IGNORE INTO leaf_ids (event_id, idx) SELECT event_id, idx FROM leaves ORDER BY idx;
      INSERT INTO meta (key, value) SELECT 'idsThrough', coalesce(max(idx) + 1, 0) FROM leaves WHERE true
        ON CONFLICT (key) DO UPDATE SET value = excluded.value;
      DROP INDEX leaves_event;`);
  }).immediate();

  const nextIndex = db.prepare<[], [number | null]>('SELECT max(idx) + 1 FROM leaves').raw(true);
  const metaGet = db.prepare<[string], [string]>('SELECT value FROM meta WHERE key = ?').raw(true);
  const metaSet = db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const insertLeaf = db.prepare<[number, string, string, number, string, Buffer]>(`INSERT INTO leaves (${LEAF_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
  const insertNode = db.prepare<[number, number, Buffer]>('INSERT OR REPLACE INTO nodes (level, idx, hash) VALUES (?, ?, ?)');
  const leafHashAt = db.prepare<[number], [Buffer]>('SELECT hash FROM leaves WHERE idx = ?').raw(true);
  const nodeAt = db.prepare<[number, number], [Buffer]>('SELECT hash FROM nodes WHERE level = ? AND idx = ?').raw(true);
  const leavesFrom = db.prepare<[number, number], LeafRow>(`SELECT ${LEAF_COLUMNS} FROM leaves WHERE idx >= ? ORDER BY idx LIMIT ?`).raw(true);
  const leavesOfStream = db.prepare<[string], LeafRow>(`SELECT ${LEAF_COLUMNS} FROM leaves WHERE stream_id = ? ORDER BY idx`).raw(true);
  const lastOfStream = db.prepare<[string], LeafRow>(`SELECT ${LEAF_COLUMNS} FROM leaves WHERE stream_id = ? ORDER BY revision DESC LIMIT 1`).raw(true);
  const leafOfEvent = db.prepare<[string], LeafRow>(
    `SELECT ${LEAF_COLUMNS.replace(/\w+/g, 'l.$&')} FROM leaf_ids AS i JOIN leaves AS l ON l.idx = i.idx WHERE i.event_id = ?`,
  ).raw(true);
  const idsThrough = () => Number(metaGet.get('idsThrough')?.[0] ?? '0');
  const leafOfEventInTail = db.prepare<[number, string], LeafRow>(`SELECT ${LEAF_COLUMNS} FROM leaves WHERE idx >= ? AND event_id = ? ORDER BY idx LIMIT 1`).raw(true);
  const indexIdsFrom = db.prepare<[number]>('INSERT OR IGNORE INTO leaf_ids (event_id, idx) SELECT event_id, idx FROM leaves WHERE idx >= ? ORDER BY idx');
  const insertRefused = db.prepare<[string, string, number, string | null, string, string]>(
    'INSERT OR IGNORE INTO refused (position, stream_id, revision, event_id, reason, seen_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const allRefused = db.prepare<[], [string, string, number, string | null, string, string]>(
    'SELECT position, stream_id, revision, event_id, reason, seen_at FROM refused ORDER BY CAST(position AS INTEGER)',
  ).raw(true);
  const insertStream = db.prepare<[string, string]>('INSERT OR IGNORE INTO streams (stream_id, units) VALUES (?, ?)');
  const allStreams = db.prepare<[], [string, string]>('SELECT stream_id, units FROM streams').raw(true);
  const streamUnits = db.prepare<[string], [string]>('SELECT units FROM streams WHERE stream_id = ?').raw(true);
  const insertAppendWitness = witnessDb.prepare<[bigint, string, number, Buffer]>(
    'INSERT OR IGNORE INTO appends (last_position, stream_id, first_revision, macs) VALUES (?, ?, ?, ?)',
  );
  // Spent witnesses are dropped by the writers (the sealer never writes the witness file): every record up to
  // the sealed position, whose events have their leaves or refusals now.
  const dropSpentAppends = witnessDb.prepare<[bigint]>('DELETE FROM appends WHERE last_position <= ?');
  type AppendRow = [lastPosition: bigint, streamId: string, firstRevision: bigint, macs: Buffer];
  const rowsFrom = (database: Database.Database, table: string) =>
    database
      .prepare<[bigint, number], AppendRow>(`SELECT last_position, stream_id, first_revision, macs FROM ${table} WHERE last_position >= ? ORDER BY last_position LIMIT ?`)
      .raw(true)
      .safeIntegers(true);
  const appendWitnessesFrom = rowsFrom(witnessDb, 'appends');
  // What a file written before the witness file holds in the tree file: records over the events' texts, read while any are left.
  const olderAppendWitnessesFrom = rowsFrom(db, 'append_witnesses');
  const anyOlderAppendWitness = db.prepare<[], [number]>('SELECT EXISTS (SELECT 1 FROM append_witnesses)').raw(true);
  const dropAppendWitnesses = db.prepare<[bigint]>('DELETE FROM append_witnesses WHERE last_position <= ?');
  // The older per-event witnesses: asked for only while any are left (one look at an empty table otherwise).
  const anyEventWitness = db.prepare<[], [number]>('SELECT EXISTS (SELECT 1 FROM witnesses)').raw(true);
  const eventWitnessesLeft = () => anyEventWitness.get()?.[0] === 1;
  const eventWitnessesOf = db.prepare<[string], [string, Buffer]>(
    'SELECT w.event_id, w.mac FROM json_each(?) AS j JOIN witnesses AS w ON w.event_id = j.value',
  ).raw(true);
  const dropEventWitnesses = db.prepare<[string]>('DELETE FROM witnesses WHERE event_id IN (SELECT value FROM json_each(?))');
  const insertDigest = db.prepare<DigestRow>('INSERT INTO digests (tree_size, root_hash, time, signature, key_id) VALUES (?, ?, ?, ?, ?)');
  const latestDigest = db.prepare<[], DigestRow>('SELECT tree_size, root_hash, time, signature, key_id FROM digests ORDER BY rowid DESC LIMIT 1').raw(true);
  const digestAt = db.prepare<[number], DigestRow>(
    'SELECT tree_size, root_hash, time, signature, key_id FROM digests WHERE tree_size = ? ORDER BY rowid DESC LIMIT 1',
  ).raw(true);

  const commit = db.transaction((batch: Parameters<AuditLog['commit']>[0]) => {
    // Another process may be sealing the same log: the one that did not start from the stored position loses.
    if (BigInt(metaGet.get('sealedThrough')?.[0] ?? '-1') !== batch.expectedThrough) throw new SealRaceError();
    for (const leaf of batch.leaves) {
      insertLeaf.run(leaf.index, leaf.position.toString(), leaf.streamId, leaf.revision, leaf.eventId, leaf.hash);
    }
    for (const node of batch.nodes) insertNode.run(node.level, node.index, node.hash);
    for (const r of batch.refused) insertRefused.run(r.position.toString(), r.streamId, r.revision, r.eventId, r.reason, r.seenAt);
    for (const s of batch.streams) insertStream.run(s.streamId, JSON.stringify(s.units));
    dropAppendWitnesses.run(batch.sealedThrough);
    if (batch.spentWitnesses.length > 0 && eventWitnessesLeft()) dropEventWitnesses.run(JSON.stringify(batch.spentWitnesses));
    const last = batch.leaves.at(-1);
    if (last && last.index + 1 - idsThrough() >= eventIndexEvery) {
      indexIdsFrom.run(idsThrough());
      metaSet.run('idsThrough', String(last.index + 1));
    }
    metaSet.run('sealedThrough', batch.sealedThrough.toString());
  });
  // An append's record is written at the end of its key (positions only grow), and holds its events' MACs together.
  const writeWitnesses = witnessDb.transaction((appends: readonly AppendWitness[], sealedThrough: bigint) => {
    for (const a of appends) {
      if (a.macs.some((mac) => mac.length !== MAC_BYTES)) throw new Error(`a witness MAC is ${MAC_BYTES} bytes`);
      insertAppendWitness.run(a.lastPosition, a.streamId, a.firstRevision, Buffer.concat(a.macs));
    }
    dropSpentAppends.run(sealedThrough);
  });
  const sealedThrough = () => BigInt(metaGet.get('sealedThrough')?.[0] ?? '-1');
  const witnessesOf = (events: readonly WitnessedEvent[]): Map<string, Witness> => {
    const found = new Map<string, Witness>();
    const first = events[0];
    if (!first) return found;
    // Each record covers at least one event from the first one's position on: one more than the events covers them all.
    const limit = events.length + 1;
    const appends: Array<[...AppendRow, Witness['over']]> = appendWitnessesFrom.all(first.position, limit).map((row) => [...row, 'link']);
    if (anyOlderAppendWitness.get()?.[0] === 1) {
      appends.push(...olderAppendWitnessesFrom.all(first.position, limit).map((row): [...AppendRow, Witness['over']] => [...row, 'text']));
      appends.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    }
    let at = 0;
    for (const event of events) {
      while (at < appends.length && appends[at]![0] < event.position) at++;
      const record = appends[at];
      if (!record) break;
      const [, streamId, firstRevision, macs, over] = record;
      const offset = (event.revision - Number(firstRevision)) * MAC_BYTES;
      if (streamId === event.streamId && offset >= 0 && offset < macs.length) found.set(event.eventId, { mac: macs.subarray(offset, offset + MAC_BYTES), over });
    }
    const rest = events.filter((event) => !found.has(event.eventId)).map((event) => event.eventId);
    if (rest.length > 0 && eventWitnessesLeft()) for (const [eventId, mac] of eventWitnessesOf.all(JSON.stringify(rest))) found.set(eventId, { mac, over: 'text' });
    return found;
  };

  return {
    treeSize: () => nextIndex.get()![0] ?? 0,
    sealedThrough,
    commit(batch) {
      commit.immediate(batch);
    },
    node(level, index) {
      const row = level === 0 ? leafHashAt.get(index) : nodeAt.get(level, index);
      if (!row) throw new RangeError(`the audit tree has no node at level ${level}, index ${index}`);
      return row[0];
    },
    leaves: (fromIndex, limit) => leavesFrom.all(fromIndex, limit).map(leafOf),
    leavesOfStream: (streamId) => leavesOfStream.all(streamId).map(leafOf),
    leafOfEvent(eventId) {
      const row = leafOfEvent.get(eventId) ?? leafOfEventInTail.get(idsThrough(), eventId);
      return row ? leafOf(row) : undefined;
    },
    lastLeafOfStream(streamId) {
      const row = lastOfStream.get(streamId);
      return row ? leafOf(row) : undefined;
    },
    refused: () =>
      allRefused.all().map(
        ([position, streamId, revision, eventId, reason, seenAt]): RefusedEvent => ({ position: BigInt(position), streamId, revision, eventId, reason, seenAt }),
      ),
    streams: () => allStreams.all().map(([streamId, units]) => ({ streamId, units: JSON.parse(units) as string[] })),
    unitsOfStream(streamId) {
      const row = streamUnits.get(streamId);
      return row ? (JSON.parse(row[0]) as string[]) : undefined;
    },
    addWitnesses: (witnesses) => writeWitnesses(witnesses, sealedThrough()),
    witnessesOf,
    addDigest: (d) => void insertDigest.run(d.treeSize, d.rootHash, d.time, d.signature, d.keyId),
    latestDigest() {
      const row = latestDigest.get();
      return row ? digestOf(row) : undefined;
    },
    digestAt(treeSize) {
      const row = digestAt.get(treeSize);
      return row ? digestOf(row) : undefined;
    },
    close() {
      witnessDb.close();
      db.close();
    },
  };
}

