import Database from 'better-sqlite3';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEventMetadata } from '../../../events/envelope.js';
import { linkEvent } from '../../../infra/event-store/audit-chain.js';
import { openSqliteAuditLog } from '../../../infra/sqlite/audit-log.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { auditKeyFromPem } from '../../../services/audit/digest.js';
import type { ExportLine } from '../../../services/audit/export.js';
import { exportLines } from '../../../services/audit/export.js';
import { verifyExport } from '../../../services/audit/offline.js';
import { eventLeafHash } from '../../../services/audit/leaf.js';
import { MemoryTree } from '../../../services/audit/merkle.js';
import { type AuditBreak, createAuditService } from '../../../services/audit/service.js';
import { witnessAppends } from '../../../services/audit/witness.js';
import type { SignedDigest } from '../../../services/ports/audit-log.js';
import { type EventStore, expected } from '../../../services/ports/event-store.js';

/**
 * The tampers of issue 10, each made on the events file with SQL while the service is stopped, then
 * looked for by the service's verification (against its latest signed digest) and by the offline
 * verifier (against the digest an inspector took away before the tamper).
 */
const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const key = auditKeyFromPem(pem);

function event(type: string, data: Record<string, unknown>): NewEvent {
  return {
    type,
    data,
    metadata: {
      eventId: randomUUID(),
      occurredAt: '2027-06-30T10:00:00+08:00',
      actor: { userId: 'cadre-1', unitId: '533423103201', role: 'cadre' },
      correlationId: randomUUID(),
      causationId: 'http:test',
      schemaVersion: 1,
    },
  };
}

const lifeCycle = (problemId: string) => [
  event('ProblemFound', { problemId, targetUnitId: '533423103201', responsibleUnitId: '533423103201', description: '危房改造未完成' }),
  event('ProblemAcknowledged', { problemId }),
  event('RectificationSubmitted', { summary: '已完成改造', evidence: [] }),
  event('ProblemCleared', { verifiedBy: 'supervisor@533423' }),
];

interface Service {
  store: EventStore;
  audit: ReturnType<typeof createAuditService>;
  close(): Promise<void>;
}

describe('audit: every tamper of the events file is found and named', () => {
  let dir: string;
  let keptDigest: SignedDigest;

  async function start(): Promise<Service> {
    const raw = openSqliteEventStore({ path: join(dir, 'events.db'), synchronous: 'NORMAL' });
    const log = openSqliteAuditLog(join(dir, 'audit.db'));
    const audit = createAuditService({ store: raw, log, key, witnessGraceMs: 100, pollMs: 10, verifyIntervalMs: 0 });
    audit.start();
    const store = witnessAppends(raw, log, key.witnessKey, () => audit.appended());
    return {
      store,
      audit,
      async close() {
        await audit.stop();
        log.close();
        await raw.close();
      },
    };
  }

  /** Runs SQL on the events file of the stopped service, as the sqlite3 command-line tool would. */
  function tamper(run: (db: Database.Database) => void) {
    const db = new Database(join(dir, 'events.db'));
    try {
      run(db);
    } finally {
      db.close();
    }
  }
  const row = (db: Database.Database, streamId: string, revision: number) =>
    db.prepare('SELECT position, data, metadata, type FROM events WHERE stream_id = ? AND revision = ?').get(streamId, revision) as {
      position: number;
      data: string;
      metadata: string;
      type: string;
    };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duban-audit-'));
    const service = await start();
    for (const id of ['p1', 'p2', 'p3']) await service.store.append(`problem-${id}`, lifeCycle(id), expected.noStream);
    // p4 was found and acknowledged, never submitted.
    await service.store.append('problem-p4', lifeCycle('p4').slice(0, 2), expected.noStream);
    keptDigest = await service.audit.makeDigest();
    expect(keptDigest.treeSize).toBe(14);
    await service.close();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Restarts the service, verifies through it and offline; both must name exactly the expected events. */
  async function findings() {
    const service = await start();
    try {
      const verification = await service.audit.verify({ wholeLog: true });
      const digest = await service.audit.makeDigest().catch(() => service.audit.latestDigest()!);
      const lines: ExportLine[] = [];
      for await (const text of exportLines({ store: service.store, log: service.audit.log, digest, scope: null })) {
        lines.push(JSON.parse(text) as ExportLine);
      }
      const offline = verifyExport({ publicKey: key.publicKey, kept: [keptDigest], lines });
      return { verification, offline };
    } finally {
      await service.close();
    }
  }
  const named = (breaks: ReadonlyArray<Pick<AuditBreak, 'streamId' | 'revision' | 'position'>>) =>
    breaks.map((b) => `${b.streamId}@${b.revision}#${b.position}`).sort();

  it('an untouched store verifies, by the service and offline', async () => {
    const { verification, offline } = await findings();
    expect(verification).toMatchObject({ ok: true, checked: 14, breaks: [], digest: { signatureHolds: true, rootMatches: true } });
    expect(offline).toMatchObject({ ok: true, checked: 14, problems: [], breaks: [] });
  });

  it('edit one event’s data', async () => {
    let position = 0;
    tamper((db) => {
      position = row(db, 'problem-p1', 0).position;
      db.prepare("UPDATE events SET data = json_set(data, '$.description', '已整改') WHERE position = ?").run(position);
    });
    const { verification, offline } = await findings();
    expect(verification.ok).toBe(false);
    expect(named(verification.breaks)).toEqual([`problem-p1@0#${position}`]);
    expect(verification.breaks[0]).toMatchObject({ problem: 'changed', reason: expect.stringContaining('no longer matches its content') });
    expect(named(offline.breaks)).toEqual([`problem-p1@0#${position}`]);
  });

  it('delete a middle event of a stream', async () => {
    let position = 0;
    tamper((db) => {
      position = row(db, 'problem-p2', 1).position;
      db.prepare('DELETE FROM events WHERE position = ?').run(position);
    });
    const { verification, offline } = await findings();
    expect(named(verification.breaks)).toEqual([`problem-p2@1#${position}`]);
    expect(verification.breaks[0]).toMatchObject({ problem: 'missing', reason: expect.stringContaining('deleted') });
    expect(named(offline.breaks)).toEqual([`problem-p2@1#${position}`]);
    expect(offline.ok).toBe(false);
  });

  it('swap two events’ revisions', async () => {
    const positions: number[] = [];
    tamper((db) => {
      positions.push(row(db, 'problem-p3', 1).position, row(db, 'problem-p3', 2).position);
      db.prepare('UPDATE events SET revision = -1 WHERE position = ?').run(positions[0]);
      db.prepare('UPDATE events SET revision = 1 WHERE position = ?').run(positions[1]);
      db.prepare('UPDATE events SET revision = 2 WHERE position = ?').run(positions[0]);
    });
    const { verification, offline } = await findings();
    expect(named(verification.breaks)).toEqual([`problem-p3@1#${positions[1]}`, `problem-p3@2#${positions[0]}`]);
    expect(verification.breaks.map((b) => b.reason).join()).toContain('sealed as revision 1, the store now says 2');
    expect(named(offline.breaks)).toEqual(named(verification.breaks));
  });

  it('delete the newest event of a stream (a cleared problem reads "submitted" again)', async () => {
    let position = 0;
    tamper((db) => {
      position = row(db, 'problem-p1', 3).position;
      db.prepare('DELETE FROM events WHERE position = ?').run(position);
    });
    const { verification, offline } = await findings();
    expect(named(verification.breaks)).toEqual([`problem-p1@3#${position}`]);
    expect(verification.breaks[0]!.problem).toBe('missing');
    expect(named(offline.breaks)).toEqual([`problem-p1@3#${position}`]);
  });

  it('delete a whole stream', async () => {
    let positions: number[] = [];
    tamper((db) => {
      positions = (db.prepare("SELECT position FROM events WHERE stream_id = 'problem-p2' ORDER BY revision").all() as { position: number }[]).map((r) => r.position);
      db.prepare("DELETE FROM events WHERE stream_id = 'problem-p2'").run();
    });
    const { verification, offline } = await findings();
    expect(named(verification.breaks)).toEqual(positions.map((p, r) => `problem-p2@${r}#${p}`).sort());
    expect(named(offline.breaks)).toEqual(named(verification.breaks));
  });

  it('append a forged ProblemCleared with a well-formed link', async () => {
    let position = 0;
    tamper((db) => {
      // A never-submitted problem reads "cleared": the attacker knows the chain's rules and links it properly.
      const head = row(db, 'problem-p4', 1);
      const forged = event('ProblemCleared', { verifiedBy: 'supervisor@533423' });
      const linked = linkEvent('problem-p4', 2, forged, new Date().toISOString(), (JSON.parse(head.metadata) as RecordedEventMetadata).hash);
      position = Number(
        db
          .prepare('INSERT INTO events (stream_id, revision, event_id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)')
          .run('problem-p4', 2, forged.metadata.eventId, forged.type, linked.dataText, linked.metadataText).lastInsertRowid,
      );
    });
    const { verification, offline } = await findings();
    expect(named(verification.breaks)).toEqual([`problem-p4@2#${position}`]);
    expect(verification.breaks[0]).toMatchObject({ problem: 'unsealed', reason: expect.stringContaining("no writer's witness") });
    expect(named(offline.breaks)).toEqual([`problem-p4@2#${position}`]);
  });

  it('edit an event, then recompute that stream’s hashes', async () => {
    let position = 0;
    tamper((db) => {
      const rows = (db.prepare("SELECT position, revision, type, data, metadata FROM events WHERE stream_id = 'problem-p3' ORDER BY revision").all() as Array<{
        position: number;
        revision: number;
        type: string;
        data: string;
        metadata: string;
      }>);
      let prevHash: string | null = null;
      for (const r of rows) {
        const { recordedAt, prevHash: _p, hash: _h, ...metadata } = JSON.parse(r.metadata) as RecordedEventMetadata;
        const data = JSON.parse(r.data) as Record<string, unknown>;
        if (r.revision === 2) {
          data['summary'] = '未整改，但已销号';
          position = r.position;
        }
        const linked = linkEvent('problem-p3', r.revision, { type: r.type, data, metadata }, recordedAt, prevHash);
        db.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?').run(linked.dataText, linked.metadataText, r.position);
        prevHash = linked.hash;
      }
    });
    const { verification, offline } = await findings();
    // Only the edited event's content changed; the later ones' links changed with it, and leaves cover links.
    expect(named(verification.breaks)).toContain(`problem-p3@2#${position}`);
    expect(verification.breaks.find((b) => b.revision === 2)!.reason).toContain('recomputed to match, so only the audit tree shows it');
    expect(named(offline.breaks)).toEqual(named(verification.breaks));
  });

  it('two tampers at once: both are reported, not only the first', async () => {
    const expectedBreaks: string[] = [];
    tamper((db) => {
      const edited = row(db, 'problem-p1', 2).position;
      db.prepare("UPDATE events SET data = json_set(data, '$.summary', 'x') WHERE position = ?").run(edited);
      const deleted = row(db, 'problem-p4', 1).position;
      db.prepare('DELETE FROM events WHERE position = ?').run(deleted);
      expectedBreaks.push(`problem-p1@2#${edited}`, `problem-p4@1#${deleted}`);
    });
    const { verification, offline } = await findings();
    expect(named(verification.breaks)).toEqual(expectedBreaks.sort());
    expect(named(offline.breaks)).toEqual(expectedBreaks);
  });

  it('a digest kept before the tree was rewritten proves the rewrite', async () => {
    // The attacker edits an event and also rewrites the audit file to match: the leaf, every stored
    // subtree, and no digest left behind. The service then signs the rewritten tree; the digest the
    // inspector kept from before cannot match it.
    tamper((db) => {
      const position = row(db, 'problem-p1', 0).position;
      db.prepare("UPDATE events SET data = json_set(data, '$.description', '已整改') WHERE position = ?").run(position);
    });
    const raw = openSqliteEventStore({ path: join(dir, 'events.db') });
    const [edited] = await raw.readStream('problem-p1');
    await raw.close();
    const audit = new Database(join(dir, 'audit.db'));
    audit.prepare("UPDATE leaves SET hash = ? WHERE stream_id = 'problem-p1' AND revision = 0").run(eventLeafHash(edited!));
    const tree = new MemoryTree();
    for (const { hash } of audit.prepare('SELECT hash FROM leaves ORDER BY idx').all() as { hash: Buffer }[]) tree.append(hash);
    audit.prepare('DELETE FROM nodes').run();
    for (let level = 1; 2 ** level <= tree.size; level++) {
      for (let index = 0; (index + 1) * 2 ** level <= tree.size; index++) {
        audit.prepare('INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)').run(level, index, tree.node(level, index));
      }
    }
    audit.prepare('DELETE FROM digests').run();
    audit.close();

    const { verification, offline } = await findings();
    expect(verification.breaks).toEqual([]);
    expect(offline.breaks).toEqual([]);
    expect(offline.ok).toBe(false);
    expect(offline.problems).toEqual([
      `the first 14 events no longer hash to the root of the digest you kept (signed ${keptDigest.time}): the record was rewritten since`,
    ]);
  });
});
