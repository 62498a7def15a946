import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore } from '../../infra/postgres/event-store.js';
import { createSqliteIdempotencyStore } from '../../infra/sqlite/idempotency.js';
import type { EventStore } from '../../services/ports/event-store.js';
import type { IdempotencyStore } from '../../services/ports/idempotency.js';
import { describeWithService } from '../setup/services.js';
import { client, type Client } from './support/client.js';
import { registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

/** A key store the test can empty (a fresh file, as Redis restarted empty) or take down (every call fails). */
function losableKeyStore(dir: () => string) {
  let generation = 0;
  let down = false;
  let current: IdempotencyStore | undefined;
  const live = () => {
    if (down) throw new Error('key store down');
    current ??= createSqliteIdempotencyStore(join(dir(), `keys-${generation}.db`));
    return current;
  };
  const store: IdempotencyStore = {
    claim: async (key, fingerprint) => live().claim(key, fingerprint),
    renew: async (key, fingerprint) => live().renew(key, fingerprint),
    complete: async (key, fingerprint, response) => live().complete(key, fingerprint, response),
    release: async (key) => live().release(key),
    close: async () => current?.close(),
  };
  return {
    store,
    async lose() {
      await current?.close();
      current = undefined;
      generation++;
    },
    setDown(value: boolean) {
      down = value;
    },
  };
}

const assessment = { food: true, clothing: true, education: true, medical: true, housing: false, water: true };
const problem = {
  targetUnitId: U.qibie,
  responsibleUnitId: U.qibie,
  category: 'housing',
  source: 'inspection',
  description: '危房改造未完成',
  severity: 'high',
  deadline: '2099-06-30',
};

function idempotencyRecordCases(storeName: string, openStore: ((dataDir: string) => Promise<EventStore>) | undefined) {
  describe(`Idempotency-Key record kept with the events (${storeName})`, () => {
    let svc: TestService;
    let cadre: Client;
    let supervisor: Client;
    const keys = losableKeyStore(() => svc.dataDir);

    beforeAll(async () => {
      svc = await startTestService({ idempotency: keys.store, ...(openStore ? { openStore } : {}) });
      await registerPrefecture(client(svc.baseUrl, await svc.token(U.diqing, 'admin')));
      cadre = client(svc.baseUrl, await svc.token(U.qibie, 'cadre'));
      supervisor = client(svc.baseUrl, await svc.token(U.weixi, 'supervisor'));
    });
    afterAll(async () => {
      keys.setDown(false);
      await svc?.stop();
    });

    it('given a found problem and the key store emptied, when the same key comes back with the same body, then the first answer returns; with another body, 422 — nothing appended either time', async () => {
      const key = `find-${randomUUID()}`;
      const found = await supervisor.post('/v1/problems', problem, { 'idempotency-key': key });
      expect(found.status).toBe(201);
      const head = await svc.head();
      await keys.lose();

      const same = await supervisor.post('/v1/problems', problem, { 'idempotency-key': key });
      expect(same.status).toBe(201);
      expect(same.body).toMatchObject({ id: found.body.id, events: found.body.events });

      await keys.lose();
      const other = await supervisor.post('/v1/problems', { ...problem, description: '饮水安全未保障' }, { 'idempotency-key': key });
      expect(other.status).toBe(422);
      expect(other.body).toMatchObject({ rule: 'http.idempotency_key_reused' });
      expect(await svc.head()).toBe(head);
    });

    it('given an assessment and the key store emptied, when the same key comes back with another body, then 422 and no second HouseholdAssessed; the same body gets the first answer', async () => {
      const key = `assess-${randomUUID()}`;
      const first = await cadre.post('/v1/households/hh-1/assessments', assessment, { 'idempotency-key': key });
      expect(first.status).toBe(200);
      const head = await svc.head();
      await keys.lose();

      const other = await cadre.post('/v1/households/hh-1/assessments', { ...assessment, housing: true }, { 'idempotency-key': key });
      expect(other.status).toBe(422);
      expect(other.body).toMatchObject({ rule: 'http.idempotency_key_reused' });

      const same = await cadre.post('/v1/households/hh-1/assessments', assessment, { 'idempotency-key': key });
      expect(same.status).toBe(200);
      expect(same.body.events).toEqual(first.body.events);
      expect(await svc.head()).toBe(head);
    });

    it('given an assessment and the key store down, when a retry with the same key carries another body, then 422; the same body gets the first answer — nothing appended', async () => {
      const key = `assess-down-${randomUUID()}`;
      const first = await cadre.post('/v1/households/hh-2/assessments', assessment, { 'idempotency-key': key });
      expect(first.status).toBe(200);
      const head = await svc.head();
      keys.setDown(true);
      try {
        const other = await cadre.post('/v1/households/hh-2/assessments', { ...assessment, water: false }, { 'idempotency-key': key });
        expect(other.status).toBe(422);
        expect(other.body).toMatchObject({ rule: 'http.idempotency_key_reused' });
        const same = await cadre.post('/v1/households/hh-2/assessments', assessment, { 'idempotency-key': key });
        expect(same.status).toBe(200);
        expect(same.body.events).toEqual(first.body.events);
      } finally {
        keys.setDown(false);
      }
      expect(await svc.head()).toBe(head);
    });
  });
}

idempotencyRecordCases('SQLite', undefined);

describeWithService('postgres', 'PostgreSQL event store', (databaseUrl) => {
  const schemas: string[] = [];
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await admin.end();
    }
  });
  idempotencyRecordCases('PostgreSQL', async () => {
    const schema = `idem_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    schemas.push(schema);
    return openPostgresEventStore({ connectionString: databaseUrl, schema, pollMs: 200 });
  });
});
