import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';

import { createTemporalWorkflowEngine } from '../../../infra/temporal/workflow-engine.js';
import { repoRoot } from '../../../infra/tools/paths.js';
import { createTokenVerifier } from '../../../services/auth/tokens.js';
import { exitCodes, runAdmin } from '../../../services/cli/admin.js';
import { loadConfig, withJwtSecret } from '../../../services/config.js';
import { startProjections, type Projections } from '../../../services/ledgers/index.js';
import type { NewEvent } from '../../../events/envelope.js';
import { expected, type EventStore } from '../../../services/ports/event-store.js';
import type { ReadModelStore } from '../../../services/ports/read-model.js';
import { DAILY_REPORT_SCHEDULE_ID, ensureReviewSchedules, MONTHLY_REVIEW_SCHEDULE_ID } from '../../../services/schedules.js';
import { openEventStore, openReadModel } from '../../../services/stores.js';
import { requireService } from '../../setup/services.js';

// `npm run admin` against real stores: the embedded SQLite files, Redis for the ledgers, a Temporal server.
// A projector runs beside the commands, as in production, and must follow what they change.

const silent = pino({ level: 'silent' });
const redisUrl = requireService('redis');
const temporalAddress = requireService('temporal');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read the printed JSON freely
type Printed = any;
async function admin(env: NodeJS.ProcessEnv, ...argv: string[]): Promise<{ code: number; out: string; err: string; json: () => Printed }> {
  let out = '';
  let err = '';
  const code = await runAdmin(argv, { env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err, json: () => JSON.parse(out) as Printed };
}

const event = (type: string, data: unknown): NewEvent => ({
  type,
  data,
  metadata: {
    eventId: randomUUID(),
    occurredAt: new Date().toISOString(),
    actor: { userId: 'admin@533400', unitId: '533400', role: 'admin' },
    correlationId: 'admin-cli-test',
    causationId: 'admin-cli-test',
    schemaVersion: 1,
  },
});
const unit = (unitId: string, parentId: string | null, level: string) => event('UnitRegistered', { unitId, name: `单位${unitId}`, level, parentId });

const kinds = [
  { name: 'sqlite', env: (dataDir: string) => ({ DATA_DIR: dataDir }) },
  // Redis db 9, emptied before each test: the commands use the service's own key names.
  ...(redisUrl ? [{ name: 'redis', env: (dataDir: string) => ({ DATA_DIR: dataDir, REDIS_URL: `${redisUrl}/9` }) }] : []),
];

describe.each(kinds)('npm run admin with the ledgers in $name', (kind) => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let store: EventStore;
  let readModel: ReadModelStore;
  let projector: Projections;
  let ghost: string;
  let head: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'duban-admin-'));
    env = kind.env(dataDir);
    if (env['REDIS_URL']) {
      const redis = new Redis(env['REDIS_URL']);
      await redis.flushdb();
      await redis.quit();
    }
    const config = loadConfig(env);
    store = await openEventStore(config);
    readModel = openReadModel(config);
    await store.append('unit-533400', [unit('533400', null, 'prefecture')], expected.noStream);
    // A poison event: a measure completed on a problem never found.
    const poison = await store.append('problem-GHOST', [event('MeasureCompleted', { measureId: 'M1', evidence: [] })], expected.noStream);
    ghost = poison.position.toString();
    head = (await store.append('unit-533423', [unit('533423', '533400', 'county')], expected.noStream)).position.toString();
    projector = startProjections({ eventStore: store, readModel, logger: silent, dropGraceMs: 0 });
    await projector.caughtUp();
  });
  afterEach(async () => {
    await projector.stop();
    await readModel.close();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('status reports the ledgers, the parked event and the reactor checkpoint, and exits 3 while an event is parked', async () => {
    const status = await admin(env, 'status');

    expect(status.code, status.err).toBe(exitCodes.problemFound);
    expect(status.json()).toMatchObject({
      eventStore: { kind: 'event-store', head },
      ledgers: { store: kind.name, checkpoint: head, lag: 0, parked: [{ position: ghost, streamId: 'problem-GHOST', type: 'MeasureCompleted' }] },
      checkpoints: { 'rectification-reactor': { position: null, lag: Number(head) + 1 } },
      workflows: { unavailable: expect.stringMatching(/TEMPORAL_ADDRESS/) },
    });
  });

  test('unpark removes the parked record, the running projector sees it, and status exits 0', async () => {
    expect(projector.status().parked).toBe(1);

    const unparked = await admin(env, 'unpark', ghost);

    expect(unparked.code, unparked.err).toBe(exitCodes.ok);
    expect(unparked.json()).toMatchObject({ unparked: { position: ghost, streamId: 'problem-GHOST' } });
    await expect.poll(() => projector.status().parked, { timeout: 5_000 }).toBe(0);
    expect((await admin(env, 'status')).code).toBe(exitCodes.ok);
    const again = await admin(env, 'unpark', ghost);
    expect(again.code).toBe(exitCodes.notFound);
    expect(JSON.parse(again.err)).toEqual({ error: `no parked event at position or with eventId ${ghost}` });
  });

  test('rebuild switches readers to a fresh keyspace while the projector runs, and the projector carries on in it', async () => {
    const before = await readModel.activeKeyspace();

    const rebuilt = await admin({ ...env }, 'rebuild');

    expect(rebuilt.code, rebuilt.err).toBe(exitCodes.problemFound); // the poison event parks again
    const result = rebuilt.json();
    expect(result).toMatchObject({ replaced: before, checkpoint: head, parked: [{ position: ghost }] });
    expect(await readModel.activeKeyspace()).toBe(result.keyspace);
    await expect.poll(() => projector.status().keyspace, { timeout: 5_000 }).toBe(result.keyspace);
    await store.append('unit-533422', [unit('533422', '533400', 'county')], expected.noStream);
    await projector.caughtUp();
    expect(await readModel.active.get('unit', '533422')).toMatchObject({ name: '单位533422' });
    expect(await readModel.active.get('unit', '533400')).toMatchObject({ children: expect.arrayContaining(['533422', '533423']) });
  });

  test('retry-parked replays and lists the events that still fail; with nothing parked it does nothing', async () => {
    const retried = await admin(env, 'retry-parked');
    expect(retried.code, retried.err).toBe(exitCodes.problemFound);
    expect(retried.json()).toMatchObject({ retried: 1, stillParked: [{ position: ghost, reason: expect.stringMatching(/never found/) }] });

    await expect.poll(async () => (await admin(env, 'unpark', ghost)).code, { timeout: 5_000 }).toBe(exitCodes.ok);
    const nothing = await admin(env, 'retry-parked');
    expect(nothing.code).toBe(exitCodes.ok);
    expect(nothing.json()).toEqual({ retried: 0, stillParked: [] });
  });
});

describe('npm run admin verify, token and usage', () => {
  let dataDir: string;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('verify checks an events.db file offline: 0 when the chain holds, 3 naming the event changed behind its back, 4 for no file', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'duban-admin-verify-'));
    const file = path.join(dataDir, 'events.db');
    const store = await openEventStore(loadConfig({ DATA_DIR: dataDir }));
    await store.append('unit-533400', [unit('533400', null, 'prefecture')], expected.noStream);
    await store.append('unit-533423', [unit('533423', '533400', 'county')], expected.noStream);
    await store.close();

    const ok = await admin({}, 'verify', '--store', file);
    expect(ok.code, ok.err).toBe(exitCodes.ok);
    expect(ok.json()).toEqual({ ok: true, checked: 2 });

    const db = new Database(file);
    db.prepare('UPDATE events SET data = ? WHERE stream_id = ?').run(JSON.stringify({ unitId: '533423', name: '改过', level: 'county', parentId: '533400' }), 'unit-533423');
    db.close();
    const broken = await admin({}, 'verify', '--store', file);
    expect(broken.code).toBe(exitCodes.problemFound);
    expect(broken.json()).toMatchObject({ ok: false, brokenAt: { streamId: 'unit-533423', revision: 0 } });

    expect((await admin({}, 'verify', '--store', path.join(dataDir, 'nothing.db'))).code).toBe(exitCodes.notFound);
    expect((await admin({ DATA_DIR: dataDir }, 'verify')).code).toBe(exitCodes.problemFound);
  });

  test('token signs with the development secret the service uses, and refuses a bad role with exit 2', async () => {
    dataDir ??= await mkdtemp(path.join(tmpdir(), 'duban-admin-verify-'));
    const token = await admin({ DATA_DIR: dataDir }, 'token', '--unit', '533423', '--role', 'supervisor');
    expect(token.code, token.err).toBe(exitCodes.ok);
    const { jwtSecret } = await withJwtSecret(loadConfig({ DATA_DIR: dataDir }));
    const principal = await createTokenVerifier({ algorithm: 'HS256', secret: jwtSecret })(token.out.trim());
    expect(principal).toMatchObject({ userId: 'supervisor@533423', unitId: '533423', role: 'supervisor' });

    const bad = await admin({ DATA_DIR: dataDir }, 'token', '--unit', '533423', '--role', 'mayor');
    expect(bad.code).toBe(exitCodes.usage);
    expect(bad.err).toMatch(/--role must be one of/);
  });

  test('--help, unknown commands and unknown options', async () => {
    const help = await admin({}, 'rebuild', '--help');
    expect(help.code).toBe(exitCodes.ok);
    expect(help.out).toMatch(/^usage: npm run admin -- rebuild\n/);
    expect((await admin({}, 'frobnicate')).code).toBe(exitCodes.usage);
    expect((await admin({}, 'status', '--frobnicate')).code).toBe(exitCodes.usage);
    expect((await admin({})).code).toBe(exitCodes.usage);
  });

  test('npm run token still prints a bare token, as the README uses it', () => {
    dataDir ??= '';
    const result = spawnSync('npm', ['run', '-s', 'token', '--', '--unit', '533423', '--role', 'cadre'], {
      cwd: repoRoot,
      env: { ...process.env, JWT_SECRET: 'x'.repeat(32) },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});

describe.skipIf(!temporalAddress)('npm run admin schedules and workflows, against Temporal', () => {
  let connection: Connection;
  let client: Client;
  const env = (): NodeJS.ProcessEnv => ({ DATA_DIR: path.join(tmpdir(), `duban-admin-${randomUUID()}`), TEMPORAL_ADDRESS: temporalAddress });
  afterAll(async () => {
    for (const id of [MONTHLY_REVIEW_SCHEDULE_ID, DAILY_REPORT_SCHEDULE_ID]) await client?.schedule.getHandle(id).delete().catch(() => undefined);
    await connection?.close();
  });

  test('schedules list shows the review schedules, trigger runs one now, and an unknown one exits 4', async () => {
    connection = await Connection.connect({ address: temporalAddress! });
    client = new Client({ connection });
    // A task queue no worker polls: the triggered review waits there, harmless.
    const workflows = createTemporalWorkflowEngine({ client, taskQueue: `admin-cli-${randomUUID()}` });
    await ensureReviewSchedules({ workflows, logger: silent, timeZone: 'Asia/Shanghai' });

    const list = await admin(env(), 'schedules', 'list');
    expect(list.code, list.err).toBe(exitCodes.ok);
    expect(list.json().schedules.map((s: { scheduleId: string }) => s.scheduleId)).toEqual(
      expect.arrayContaining([MONTHLY_REVIEW_SCHEDULE_ID, DAILY_REPORT_SCHEDULE_ID]),
    );

    const triggered = await admin(env(), 'schedules', 'trigger', DAILY_REPORT_SCHEDULE_ID);
    expect(triggered.code, triggered.err).toBe(exitCodes.ok);
    await expect
      .poll(async () => (await client.schedule.getHandle(DAILY_REPORT_SCHEDULE_ID).describe()).info.recentActions.length, { timeout: 10_000 })
      .toBeGreaterThan(0);

    expect((await admin(env(), 'schedules', 'trigger', 'no-such-schedule')).code).toBe(exitCodes.notFound);
    expect((await admin(env(), 'schedules')).code).toBe(exitCodes.usage);
  });

  test('status counts the running rectification workflows', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'duban-admin-wf-'));
    try {
      const status = await admin({ DATA_DIR: dataDir, TEMPORAL_ADDRESS: temporalAddress }, 'status');
      expect(status.code, status.err).toBe(exitCodes.ok);
      expect(status.json().workflows).toEqual({ running: expect.any(Number) });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
