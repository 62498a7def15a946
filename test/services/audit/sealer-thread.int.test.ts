import Database from 'better-sqlite3';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteAuditLog } from '../../../infra/sqlite/audit-log.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { auditKeyFromPem } from '../../../services/audit/digest.js';
import { type SealerThread, type SealerThreadData, startSealerThread } from '../../../services/audit/sealer-thread.js';
import { embeddedStores } from '../../../services/stores.js';
import { createAuditService } from '../../../services/audit/service.js';
import { witnessAppends } from '../../../services/audit/witness.js';
import type { AuditLog } from '../../../services/ports/audit-log.js';
import type { EventStore } from '../../../services/ports/event-store.js';
import { expected } from '../../../services/ports/event-store.js';
import { reminder } from './reminder.js';

/**
 * The sealer in its own thread, as `npm start` and the projector role run it: it seals what this thread's
 * writers append, and what it finds (a background verification's break, its own exit) reaches the service
 * that answers /health and /audit/status.
 */
const signingKeyPem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const key = auditKeyFromPem(signingKeyPem);
const quiet = pino({ level: 'silent' });


const until = async (check: () => boolean, what: string, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe('the audit sealer thread', () => {
  let dir: string;
  let opened: { sealer: SealerThread; raw: EventStore; log: AuditLog } | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duban-sealer-thread-'));
  });
  afterEach(async () => {
    if (opened) {
      await opened.sealer.stop();
      opened.log.close();
      await opened.raw.close();
      opened = undefined;
    }
    await rm(dir, { recursive: true, force: true });
  });

  function open(overrides: Partial<SealerThreadData> = {}) {
    const data: SealerThreadData = {
      store: embeddedStores(dir, 'NORMAL'),
      auditDbFile: join(dir, 'audit.db'),
      signingKeyPem,
      digestEvery: 5,
      digestIntervalMs: 600_000,
      logLevel: 'silent',
      role: 'test',
      pollMs: 10,
      verifyIntervalMs: 0,
      ...overrides,
    };
    const raw = openSqliteEventStore({ path: join(dir, 'events.db'), synchronous: 'NORMAL' });
    const log = openSqliteAuditLog(join(dir, 'audit.db'));
    const sealer = startSealerThread(data, quiet);
    const audit = createAuditService({ store: raw, log, key, verifyIntervalMs: 0, sealer: () => sealer.state() });
    const store = witnessAppends(raw, log, key.witnessKey, () => sealer.appended());
    opened = { sealer, raw, log };
    return { raw, log, sealer, audit, store };
  }

  it('seals and signs what this thread appends, without this thread sealing anything', async () => {
    const { log, sealer, audit, store } = open();
    for (let s = 0; s < 4; s++) await store.append(`problem-t${s}`, [reminder(), reminder(), reminder()], expected.noStream);

    // No catch-up asked for: the appends' wake-ups alone bring the thread to the head.
    await until(() => log.treeSize() === 12, 'the sealer thread to seal the 12 events');
    expect(log.sealedThrough()).toBe(12n);
    expect(log.refused()).toEqual([]);
    await until(() => (log.latestDigest()?.treeSize ?? 0) >= 10, 'a digest signed by the thread');
    await until(() => sealer.state() !== undefined, 'the thread to report');

    await store.append('problem-t9', [reminder()], expected.noStream);
    await sealer.catchUp();
    expect(log.treeSize()).toBe(13);
    expect(audit.status()).toMatchObject({ treeSize: 13, sealedThrough: '13', awaitingWitness: 0, sealerError: null, refused: 0 });
    await expect(audit.health()).resolves.toBeUndefined();
  });

  it("reports the break its background verification finds to this thread's /health", async () => {
    const { log, sealer, audit, store } = open({ verifyIntervalMs: 200 });
    await store.append('problem-v1', [reminder(), reminder()], expected.noStream);
    await sealer.catchUp();
    expect(log.treeSize()).toBe(2);
    await expect(audit.health()).resolves.toBeUndefined();

    // The second event edited behind Duban's back, after it was sealed.
    const events = new Database(join(dir, 'events.db'));
    events.prepare("UPDATE events SET data = json_set(data, '$.level', 3) WHERE stream_id = 'problem-v1' AND revision = 1").run();
    events.close();

    await until(() => sealer.state()?.lastWholeLog?.ok === false, 'the background verification to find the change');
    expect(sealer.state()?.lastWholeLog?.firstBreak).toMatchObject({ streamId: 'problem-v1', revision: 1, problem: 'changed' });
    await expect(audit.health()).rejects.toThrow(/problem-v1 revision 1/);
    expect(audit.status()).toMatchObject({ background: { lastOk: false } });
  });

  it('a thread that cannot run is reported by /health, and started again', async () => {
    // A folder where the audit file should be: the thread cannot open it, and exits.
    await mkdir(join(dir, 'not-a-file'));
    const { sealer, audit } = open({ auditDbFile: join(dir, 'not-a-file') });
    await until(() => sealer.state()?.sealerError != null, 'the exit to be reported');
    expect(sealer.state()?.sealerError).toMatch(/sealer thread exited \(code 1\); starting it again/);
    await expect(audit.health()).rejects.toThrow(/audit sealer: the sealer thread exited/);
    await expect(sealer.catchUp()).rejects.toThrow(/sealer thread/);

    // Once the file can be opened, the next start succeeds and the error clears.
    await rm(join(dir, 'not-a-file'), { recursive: true });
    await until(() => sealer.state()?.sealerError === null, 'the restarted thread to report', 10_000);
    await expect(audit.health()).resolves.toBeUndefined();
  });
});
