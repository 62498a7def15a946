import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../../events/envelope.js';
import { openSqliteAuditLog } from '../../../infra/sqlite/audit-log.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { witnessAppends } from '../../../services/audit/witness.js';
import type { AuditLog } from '../../../services/ports/audit-log.js';
import { expected } from '../../../services/ports/event-store.js';

/** Witnesses of appends a group commit acknowledges together: one audit-log write, each append after it. */
const reminder = (): NewEvent => ({
  type: 'ReminderIssued',
  data: { kind: 'overdue', level: 0, recipients: ['533423'] },
  metadata: {
    eventId: randomUUID(),
    occurredAt: '2027-06-30T10:00:00+08:00',
    actor: { userId: 'system', unitId: '533400', role: 'admin' },
    correlationId: randomUUID(),
    causationId: 'test',
    schemaVersion: 1,
  },
});

describe('witnessAppends', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duban-witness-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

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
      return store.append(`problem-w${i}`, events, expected.noStream).then(() => {
        // Written when this append resolves, not later.
        expect(log.witnessesOf(events.map((e) => e.metadata.eventId)).size).toBe(2);
      });
    });
    await Promise.all(appends);
    expect(calls).toEqual([64]);
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
