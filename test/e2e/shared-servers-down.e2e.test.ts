import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findPostgresBin, type LocalPostgres, startLocalPostgres } from '../../infra/postgres/provider.js';
import { provideRedis, type RedisServer } from '../../infra/redis/provider.js';
import { freePort } from '../../infra/tools/process.js';
import { isUnavailable } from '../../infra/tools/service.js';
import type { ApiResponse, Client } from './support/client.js';
import { registerPrefecture, U } from './support/prefecture.js';
import { clientOf, healthy, type RoleProcess, startRole, until } from './support/roles.js';

/**
 * An API and a projector process on a PostgreSQL and a Redis of this test's own, which it stops and
 * starts again (Redis comes back empty): what needs a missing server answers 503 with Retry-After and
 * problem details, never 500; what does not need it goes on; /health names what is down; everything
 * converges when the servers return.
 */
const SECRET = 'shared-servers-down-secret-0123456789-0123456789';
const bin = findPostgresBin();
if (!bin) console.warn('[services] PostgreSQL is not installed: the shared-servers-down tests are SKIPPED');

describe.skipIf(!bin)('shared servers down: Redis or PostgreSQL stopped under the API and restarted', () => {
  let dir: string;
  let postgres: LocalPostgres;
  let redis: RedisServer;
  let redisPort: number;
  let api: RoleProcess;
  let projector: RoleProcess;
  let cadre: Client;
  let inspector: Client;

  const startRedis = async () => {
    const started = await provideRedis({ useDocker: false, port: redisPort });
    if (isUnavailable(started)) throw new Error(started.unavailable);
    redis = started;
  };
  const health = async (p: RoleProcess) =>
    (await (await fetch(`http://127.0.0.1:${p.port}/health`)).json()) as { checks: { name: string; status: string; error?: string }[] };
  const statusOf = async (p: RoleProcess, name: string) => (await health(p)).checks.find((c) => c.name === name)?.status;
  const assess = (key: string) =>
    cadre.post('/v1/households/hh-1/assessments', { food: true, clothing: true, education: true, medical: true, housing: true, water: true }, { 'idempotency-key': key });
  const expectUnavailable = (response: ApiResponse, dependency: string) => {
    expect(response.status, response.text).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 503, type: expect.stringContaining('unavailable'), detail: expect.stringContaining(dependency) });
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'duban-down-'));
    postgres = await startLocalPostgres({ bin: bin!, dir });
    redisPort = await freePort();
    await startRedis();
    const auditKey = path.join(dir, 'audit-signing-key.pem');
    await writeFile(auditKey, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'fatal',
      AUDIT_SIGNING_KEY: auditKey,
      AUDIT_DB: path.join(dir, 'audit.db'),
    };
    for (const name of ['ESDB_URL', 'TEMPORAL_ADDRESS']) delete env[name];
    [api, projector] = await Promise.all([
      startRole('api', { ...env, DATA_DIR: path.join(dir, 'api') }),
      startRole('projector', { ...env, DATA_DIR: path.join(dir, 'projector') }),
    ]);
    await Promise.all([healthy(api), healthy(projector)]);
    await registerPrefecture(await clientOf(api, SECRET, U.diqing, 'admin'));
    cadre = await clientOf(api, SECRET, U.qibie, 'cadre');
    inspector = await clientOf(api, SECRET, U.diqing, 'inspector');
    // The projector catches up on its own clock: the first test reads the ledger with PostgreSQL
    // stopped, so it must already hold the registration (a CI run read it 404 before it did).
    await until(async () => (await inspector.get(`/v1/ledgers/households?unitId=${U.diqing}`)).body?.items?.length === 3, 30_000, 'the registration on the ledgers');
  });

  afterAll(async () => {
    for (const p of [api, projector]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all([api?.exited, projector?.exited]);
    await redis?.stop();
    await postgres?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('given PostgreSQL stopped, then commands answer 503, ledger reads still 200, /health names postgres; restarted, commands and ledgers go on', async () => {
    await postgres.stop();
    expectUnavailable(await assess('pg-down-1'), 'postgres');
    const ledger = await inspector.get(`/v1/ledgers/households?unitId=${U.diqing}`);
    expect(ledger.status, ledger.text).toBe(200);
    expect(await statusOf(api, 'postgres')).toBe('down');

    postgres = await startLocalPostgres({ bin: bin!, dir, port: postgres.port });
    await until(async () => (await assess('pg-down-1')).status === 200, 30_000, 'commands to succeed again');
    const done = await assess('pg-down-1');
    expect(done.status).toBe(200);
    await until(
      async () => {
        const rows = await inspector.get(`/v1/ledgers/problems?unitId=${U.diqing}`);
        const households = await inspector.get(`/v1/ledgers/households?unitId=${U.diqing}`);
        return rows.status === 200 && households.status === 200 && households.body.position === String(done.body.position);
      },
      60_000,
      'the ledgers to reach the new event',
    );
    expect(await statusOf(api, 'postgres')).toBe('up');
  });
  it('given Redis stopped, then ledger reads answer 503, commands still 2xx, /health names redis; restarted empty, commands still appended once', async () => {
    await redis.stop();
    expectUnavailable(await inspector.get(`/v1/ledgers/households?unitId=${U.diqing}`), 'redis');
    const during = await assess('redis-down-1');
    expect(during.status, during.text).toBe(200);
    expect(await statusOf(api, 'redis')).toBe('down');
    expect(await statusOf(projector, 'redis')).toBe('down');
    // The projector's loop fails on the missing Redis (it does not wait on it) and says so.
    await until(async () => (await health(projector)).checks.some((c) => c.name === 'projections' && c.status === 'down' && /restarted \d+ times/.test(c.error ?? '')), 30_000, 'projections down on /health');

    await startRedis();
    const again = await assess('redis-down-1');
    expect(again.status).toBe(200);
    expect(again.body.events).toEqual(during.body.events);
    await until(async () => (await statusOf(api, 'redis')) === 'up', 30_000, 'redis up on /health');
  });

  it('given Redis restarted empty, then the projector rebuilds every ledger from the event store', async () => {
    await until(
      async () => {
        const ledger = await inspector.get(`/v1/ledgers/households?unitId=${U.diqing}`);
        return ledger.status === 200 && ledger.body.items.some((row: { householdId: string; assessment: unknown }) => row.householdId === 'hh-1' && row.assessment);
      },
      60_000,
      'the household ledger rebuilt',
    );
    // Converged: /health stops reporting restarts (asked twice: a check counts those since the one before).
    await until(async () => (await statusOf(projector, 'projections')) === 'up' && (await statusOf(projector, 'projections')) === 'up', 30_000, 'projections up on /health');
  });
});
