import Database from 'better-sqlite3';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../events/envelope.js';
import { openSqliteAuditLog, witnessFileOf } from '../../../infra/sqlite/audit-log.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { auditKeyFromPem } from '../../../services/audit/digest.js';
import { linkEvent } from '../../../infra/event-store/audit-chain.js';
import { sealingChecks, witnessMac } from '../../../services/audit/leaf.js';
import { createAuditService } from '../../../services/audit/service.js';
import { witnessAppends } from '../../../services/audit/witness.js';
import type { AuditLog } from '../../../services/ports/audit-log.js';
import { expected } from '../../../services/ports/event-store.js';
import { reminder } from './reminder.js';

/**
 * What the sealer keeps in the audit file besides the tree: a witness only until its event is sealed,
 * and every leaf findable by its event id, whether the id index has taken it in yet or not.
 */
const key = auditKeyFromPem(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());


describe('audit sealing: witnesses and the event-id index', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duban-sealing-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function sealed(eventIndexEvery: number, streams: number) {
    const raw = openSqliteEventStore({ path: join(dir, 'events.db'), synchronous: 'NORMAL' });
    const log = openSqliteAuditLog(join(dir, 'audit.db'), { eventIndexEvery });
    const audit = createAuditService({ store: raw, log, key, witnessGraceMs: 100, pollMs: 10, verifyIntervalMs: 0 });
    const store = witnessAppends(raw, log, key.witnessKey, () => audit.appended());
    for (let s = 0; s < streams; s++) {
      await store.append(`problem-s${s}`, [reminder(), reminder(), reminder()], expected.noStream);
      await audit.catchUp();
    }
    await audit.catchUp();
    return { raw, log, audit, store, close: async () => (log.close(), await raw.close()) };
  }
  /** Rows of a table of the audit file, or with `file`, of the witness file beside it. */
  const countIn = (table: string, file: 'audit' | 'witnesses' = 'audit') => {
    const db = new Database(file === 'audit' ? join(dir, 'audit.db') : witnessFileOf(join(dir, 'audit.db')), { readonly: true });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it("drops a witness once its event is sealed (with the next append's commit), and a sealed event put back at a new position is never sealed again", async () => {
    const first = await sealed(4096, 3);
    expect(first.log.treeSize()).toBe(9);
    // Each append dropped the records of those sealed before it; the last one's goes with the next append.
    expect(countIn('appends', 'witnesses')).toBe(1);
    await first.close();

    // The newest event of the first stream, deleted and inserted again as it was: same id, same content, a new position.
    const events = new Database(join(dir, 'events.db'));
    const row = events.prepare("SELECT * FROM events WHERE stream_id = 'problem-s0' AND revision = 2").get() as Record<string, unknown>;
    events.prepare('DELETE FROM events WHERE position = ?').run(row.position);
    const moved = Number(
      events
        .prepare('INSERT INTO events (stream_id, revision, event_id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)')
        .run(row.stream_id, row.revision, row.event_id, row.type, row.data, row.metadata).lastInsertRowid,
    );
    events.close();

    const again = await sealed(4096, 0);
    const verification = await again.audit.verify({ wholeLog: true });
    expect(again.log.treeSize()).toBe(9);
    expect(verification.breaks.map((b) => [b.position, b.problem])).toEqual([
      [String(row.position), 'missing'],
      [String(moved), 'unsealed'],
    ]);
    await again.close();
  });

  it('keeps one witness record per append while its events wait, and seals events whose file still holds witnesses of one event each', async () => {
    const raw = openSqliteEventStore({ path: join(dir, 'events.db'), synchronous: 'NORMAL' });
    const log = openSqliteAuditLog(join(dir, 'audit.db'));
    const store = witnessAppends(raw, log, key.witnessKey);
    await store.append('problem-r0', [reminder(), reminder(), reminder()], expected.noStream);
    await store.append('problem-r1', [reminder()], expected.noStream);
    expect(countIn('appends', 'witnesses')).toBe(2);
    // An event appended before this version: its witness was written by event id, in the old table.
    const legacy = reminder();
    const { position } = await raw.append('problem-r2', [legacy], expected.noStream);
    let stored: RecordedEvent | undefined;
    for await (const event of raw.readAll({ fromPosition: position - 1n })) stored ??= event;
    const db = new Database(join(dir, 'audit.db'));
    db.prepare('INSERT INTO witnesses (event_id, mac) VALUES (?, ?)').run(legacy.metadata.eventId, sealingChecks(key.witnessKey, stored!, 'text').mac);
    db.close();
    log.close();

    // Reopened, as after an upgrade.
    const reopened = openSqliteAuditLog(join(dir, 'audit.db'));
    const audit = createAuditService({ store: raw, log: reopened, key, witnessGraceMs: 100, pollMs: 10, verifyIntervalMs: 0 });
    await audit.catchUp();
    expect(reopened.treeSize()).toBe(5);
    expect(reopened.refused()).toEqual([]);
    expect(countIn('witnesses')).toBe(0);
    // The next append's commit drops the two sealed records.
    await witnessAppends(raw, reopened, key.witnessKey).append('problem-r3', [reminder()], expected.noStream);
    expect(countIn('appends', 'witnesses')).toBe(1);
    reopened.close();
    await raw.close();
  });

  it("seals an append witnessed over its events' texts in a file written before the witnesses were MACs of the links", async () => {
    const raw = openSqliteEventStore({ path: join(dir, 'events.db'), synchronous: 'NORMAL' });
    openSqliteAuditLog(join(dir, 'audit.db')).close();
    // The file as the version before left it: one append's record, its events' text MACs, in the audit file itself.
    const events = [reminder(), reminder()];
    const { position } = await raw.append('problem-x0', events, expected.noStream);
    const db = new Database(join(dir, 'audit.db'));
    db.prepare('INSERT INTO append_witnesses (last_position, stream_id, first_revision, macs) VALUES (?, ?, ?, ?)').run(
      position,
      'problem-x0',
      0,
      Buffer.concat(events.map((event, i) => witnessMac(key.witnessKey, 'problem-x0', i, event))),
    );
    db.close();

    const log = openSqliteAuditLog(join(dir, 'audit.db'));
    const store = witnessAppends(raw, log, key.witnessKey);
    await store.append('problem-x1', [reminder()], expected.noStream);
    const audit = createAuditService({ store: raw, log, key, witnessGraceMs: 100, pollMs: 10, verifyIntervalMs: 0 });
    await audit.catchUp();
    expect(log.treeSize()).toBe(3);
    expect(log.refused()).toEqual([]);
    log.close();
    await raw.close();
    // The sealer's commit dropped the old record.
    expect(countIn('append_witnesses')).toBe(0);
  });

  it('refuses an event changed before it was sealed, whether its hash link was recomputed or left', async () => {
    const raw = openSqliteEventStore({ path: join(dir, 'events.db'), synchronous: 'NORMAL' });
    const log = openSqliteAuditLog(join(dir, 'audit.db'));
    const store = witnessAppends(raw, log, key.witnessKey);
    await store.append('problem-c0', [reminder(), reminder(), reminder()], expected.noStream);
    const events = new Database(join(dir, 'events.db'));
    const rowAt = (revision: number) =>
      events.prepare("SELECT position, type, data, metadata FROM events WHERE stream_id = 'problem-c0' AND revision = ?").get(revision) as {
        position: number;
        type: string;
        data: string;
        metadata: string;
      };
    // Revision 1: the data edited, its link left as it was.
    events.prepare('UPDATE events SET data = ? WHERE position = ?').run('{"kind":"overdue","level":2,"recipients":["533423"]}', rowAt(1).position);
    // Revision 2: the data edited and its link recomputed to match, as one who knows the chain's rules would.
    const last = rowAt(2);
    const { recordedAt, prevHash, hash: _, ...metadata } = JSON.parse(last.metadata) as RecordedEvent['metadata'];
    const relinked = linkEvent('problem-c0', 2, { type: last.type, data: { kind: 'overdue', level: 3, recipients: ['533423'] }, metadata }, recordedAt, prevHash);
    events.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?').run(relinked.dataText, relinked.metadataText, last.position);
    events.close();

    const audit = createAuditService({ store: raw, log, key, witnessGraceMs: 100, pollMs: 10, verifyIntervalMs: 0 });
    await audit.catchUp();
    expect(log.treeSize()).toBe(1);
    expect(log.refused().map((r) => [r.revision, r.reason])).toEqual([
      [1, 'its hash link does not match its content'],
      [2, 'differs from what its writer appended (the witness does not match)'],
    ]);
    log.close();
    await raw.close();
  });

  it('finds every leaf by its event id, indexed or in the newest unindexed leaves, and after the file is reopened', async () => {
    const { log, audit, close } = await sealed(4, 5);
    const leaves = log.leaves(0, 100);
    expect(leaves).toHaveLength(15);
    // 15 leaves entered four or more at a time: some in leaf_ids, the newest still in the tail.
    expect(countIn('leaf_ids')).toBeGreaterThan(0);
    expect(countIn('leaf_ids')).toBeLessThan(15);
    for (const leaf of leaves) {
      expect(log.leafOfEvent(leaf.eventId)).toEqual(leaf);
      expect(audit.inclusion(leaf.eventId, 15).leafIndex).toBe(leaf.index);
    }
    expect(log.leafOfEvent(randomUUID())).toBeUndefined();
    await close();
    const reopened = openSqliteAuditLog(join(dir, 'audit.db'));
    for (const leaf of leaves) expect(reopened.leafOfEvent(leaf.eventId)).toEqual(leaf);
    reopened.close();
  });

  it('moves the ids of a file written with the old leaves_event index into leaf_ids when it is opened', async () => {
    const { log, close } = await sealed(4096, 4);
    const leaves = log.leaves(0, 100);
    await close();
    // The file as the previous version left it: no leaf_ids, every id indexed on the leaves table.
    const db = new Database(join(dir, 'audit.db'));
    db.exec("DROP TABLE leaf_ids; DELETE FROM meta WHERE key = 'idsThrough'; CREATE INDEX leaves_event ON leaves (event_id);");
    db.close();
    const reopened = openSqliteAuditLog(join(dir, 'audit.db'));
    for (const leaf of leaves) expect(reopened.leafOfEvent(leaf.eventId)).toEqual(leaf);
    reopened.close();
    expect(countIn('leaf_ids')).toBe(12);
    const check = new Database(join(dir, 'audit.db'), { readonly: true });
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'leaves_event'").get()).toBeUndefined();
    check.close();
  });
});

/** Witnesses of appends a group commit acknowledges together: one audit-log write, each append after it. */
describe('witnessAppends', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'duban-witness-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** The real SQLite audit log, its witness writes counted (and made to fail on demand). */
  function countedLog() {
    const log = openSqliteAuditLog(join(dir, 'audit.db'));
    const calls: number[] = [];
    let failing = false;
    const counted: AuditLog = {
      ...log,
      addWitnesses(witnesses) {
        calls.push(witnesses.length);
        if (failing) throw new Error('disk I/O error');
        log.addWitnesses(witnesses);
      },
    };
    return { log, counted, calls, fail: () => (failing = true) };
  }

  it('given 32 appends committed in one group, when they are acknowledged, then their witnesses are written in one transaction before any resolves', async () => {
    const raw = openSqliteEventStore({ path: join(dir, 'events.db') });
    const { log, counted, calls } = countedLog();
    const store = witnessAppends(raw, counted, Buffer.alloc(32, 7));
    const appends = Array.from({ length: 32 }, (_, i) => {
      const events = [reminder(), reminder()];
      return store.append(`problem-w${i}`, events, expected.noStream).then(({ position }) => {
        // Written when this append resolves, not later.
        const witnessed = events.map((e, revision) => ({ eventId: e.metadata.eventId, streamId: `problem-w${i}`, revision, position: position - 1n + BigInt(revision) }));
        expect(log.witnessesOf(witnessed).size).toBe(2);
      });
    });
    await Promise.all(appends);
    // One record per append, all 32 in one write.
    expect(calls).toEqual([32]);
    log.close();
    await raw.close();
  });

  it('given the audit log cannot be written, when appends of one group are acknowledged, then each of them rejects', async () => {
    const raw = openSqliteEventStore({ path: join(dir, 'events.db') });
    const { log, counted, fail } = countedLog();
    fail();
    const store = witnessAppends(raw, counted, Buffer.alloc(32, 7));
    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => store.append(`problem-f${i}`, [reminder()], expected.noStream)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    log.close();
    await raw.close();
  });
});
