import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';

import { provideRedis, type RedisServer } from '../../infra/redis/provider.js';
import { repoRoot } from '../../infra/tools/paths.js';
import { isUnavailable } from '../../infra/tools/service.js';
import type { Role } from '../../services/auth/principal.js';
import { describeWithService, requireService } from '../setup/services.js';
import type { ApiResponse, Client } from './support/client.js';
import { inSeconds, registerPrefecture, U } from './support/prefecture.js';
import { clientOf, healthy, type RoleProcess, startRole, until } from './support/roles.js';

/**
 * The production shape: `--role api` twice, `--role projector` and `--role worker`, each its own process
 * (services/main.ts), on PostgreSQL (the event store), Redis (ledgers, checkpoints, Idempotency-Keys) and
 * the Temporal dev server. One API process and the worker are SIGKILLed in the middle of the escalation
 * ladders and started again.
 */
const SECRET = 'split-topology-secret-0123456789-0123456789';
const PROBLEMS = 4;
const ASSESSMENTS = 12;

const temporalAddress = requireService('temporal');
describeWithService('postgres', 'split topology: two API processes, a projector and a worker on PostgreSQL, Redis and Temporal', (databaseUrl) => {
  let dir: string;
  let redis: RedisServer;
  let admin: pg.Client;
  let url: string;
  let env: NodeJS.ProcessEnv;
  const processes = new Map<string, RoleProcess>();

  async function start(name: string, role: 'api' | 'projector' | 'worker', port?: number): Promise<RoleProcess> {
    const started = await startRole(role, { ...env, DATA_DIR: path.join(dir, name) }, port);
    processes.set(name, started);
    return started;
  }

  const as = (p: RoleProcess, unitId: string, role: Role) => clientOf(p, SECRET, unitId, role);

  const storedEvents = async () =>
    (await admin.query<{ event_id: string; stream_id: string; type: string; data: string }>('SELECT event_id, stream_id, type, data FROM events ORDER BY position'))
      .rows;

  beforeAll(async () => {
    if (!temporalAddress) throw new Error('the split topology needs Temporal');
    dir = await mkdtemp(path.join(os.tmpdir(), 'duban-split-'));
    // A Redis of this test's own (its default key prefixes), and a database of its own on the shared server.
    const ownRedis = await provideRedis({ useDocker: false });
    if (isUnavailable(ownRedis)) throw new Error(ownRedis.unavailable);
    redis = ownRedis;
    const database = `split_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const server = new pg.Client({ connectionString: databaseUrl });
    await server.connect();
    await server.query(`CREATE DATABASE ${database}`);
    await server.end();
    const target = new URL(databaseUrl);
    target.pathname = `/${database}`;
    url = target.toString();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();

    const policy = path.join(dir, 'policy.json');
    await writeFile(
      policy,
      JSON.stringify({
        version: 1,
        acknowledgeWithin: 'PT3S',
        reminderOffsets: ['PT5S'],
        escalationInterval: 'PT5S',
        repeatReminderEvery: 'PT1H',
        severityOverrides: {},
      }),
    );
    const auditKey = path.join(dir, 'audit-signing-key.pem');
    await writeFile(auditKey, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const bundle = path.join(dir, 'workflow-bundle.js');
    await new Promise<void>((resolve, reject) =>
      spawn(process.execPath, ['--import', 'tsx', 'services/cli/build-workflows.ts', bundle], { cwd: repoRoot, stdio: 'ignore' }).once(
        'exit',
        (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}`))),
      ),
    );
    env = {
      ...process.env,
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      DATABASE_URL: url,
      REDIS_URL: redis.url,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      ESCALATION_POLICY: policy,
      WORKFLOW_BUNDLE: bundle,
      LOG_LEVEL: 'warn',
      // One audit key and one audit file for every role, as a deployment shares them.
      AUDIT_SIGNING_KEY: auditKey,
      AUDIT_DB: path.join(dir, 'audit.db'),
    };
    delete env['ESDB_URL'];
    const started = [await start('api1', 'api'), await start('api2', 'api'), await start('projector', 'projector'), await start('worker', 'worker')];
    await Promise.all(started.map((p) => healthy(p)));
  });

  afterAll(async () => {
    for (const p of processes.values()) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all([...processes.values()].map((p) => p.exited));
    await admin?.end();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps every 2xx command exactly once, the ledgers equal to a rebuild and every escalation step written once, across SIGKILLs', async () => {
    const api1 = processes.get('api1')!;
    const api2 = processes.get('api2')!;
    await registerPrefecture(await as(api1, U.diqing, 'admin'));
    const supervisors = [await as(api1, U.weixi, 'supervisor'), await as(api2, U.weixi, 'supervisor')];
    const cadres = [await as(api1, U.qibie, 'cadre'), await as(api2, U.qibie, 'cadre')];

    // Every answered command: its key, its body, where it went, and what it said.
    const answered: { key: string; response: ApiResponse }[] = [];
    const send = async (via: Client, route: string, body: unknown, key: string) => {
      const response = await via.post(route, body, { 'idempotency-key': key });
      answered.push({ key, response });
      return response;
    };

    // Problems found through both API processes, due in a few seconds: their ladders run while we kill.
    const problemIds: string[] = [];
    for (let i = 0; i < PROBLEMS; i++) {
      const found = await send(
        supervisors[i % 2]!,
        '/v1/problems',
        {
          targetUnitId: U.qibie,
          responsibleUnitId: U.qibie,
          category: 'housing',
          source: 'inspection',
          description: `危房改造未完成 ${i}`,
          severity: 'high',
          deadline: inSeconds(8),
        },
        `find-${i}`,
      );
      expect(found.status, found.text).toBe(201);
      problemIds.push(found.body.id as string);
    }

    // Mid-ladder (the first escalation is written): SIGKILL API 2 while it has commands in flight, and the worker.
    await until(async () => (await storedEvents()).some((e) => e.type === 'ProblemEscalated'), 90_000, 'a first escalation');
    const inFlight = Array.from({ length: ASSESSMENTS }, (_, i) =>
      cadres[1]!
        .post('/v1/households/hh-1/assessments', assessment(i), { 'idempotency-key': `assess-${i}` })
        .then((response) => ({ i, response }), () => ({ i, response: undefined })),
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    api2.child.kill('SIGKILL');
    processes.get('worker')!.child.kill('SIGKILL');
    await Promise.all([api2.exited, processes.get('worker')!.exited]);
    // Both come back on the same ports; the ladders continue from Temporal's timers.
    const [api2Again, workerAgain] = [await start('api2', 'api', api2.port), await start('worker', 'worker')];
    const cadre2 = await as(api2Again, U.qibie, 'cadre');
    // A command without an answer is retried with the same key at the other API process; a claim the
    // killed process held answers 409 "still running" until it times out, and the client tries again.
    const retries = (await Promise.all(inFlight)).map(async ({ i, response }) => {
      if (response && response.status < 300) {
        answered.push({ key: `assess-${i}`, response });
        return;
      }
      for (;;) {
        const retried = await cadres[0]!.post('/v1/households/hh-1/assessments', assessment(i), { 'idempotency-key': `assess-${i}` });
        if (retried.status === 409 && retried.body.rule === 'http.idempotency_in_progress') {
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          continue;
        }
        expect(retried.status, retried.text).toBe(200);
        answered.push({ key: `assess-${i}`, response: retried });
        return;
      }
    });
    await Promise.all([healthy(api2Again), healthy(workerAgain)]);
    const topOfLadder = async () => {
      const escalated = (await storedEvents()).filter((e) => e.type === 'ProblemEscalated');
      return problemIds.every((id) => escalated.some((e) => e.stream_id === `problem-${id}` && (JSON.parse(e.data) as { level: number }).level === 3));
    };
    await until(topOfLadder, 120_000, 'every ladder at the prefecture');
    await Promise.all(retries);

    // Every 2xx answer's events are stored exactly once.
    const events = await storedEvents();
    const count = new Map<string, number>();
    for (const e of events) count.set(e.event_id, (count.get(e.event_id) ?? 0) + 1);
    const good = answered.filter((a) => a.response.status >= 200 && a.response.status < 300);
    expect(good.length).toBe(PROBLEMS + ASSESSMENTS);
    for (const a of good) {
      for (const e of a.response.body.events as { eventId: string }[]) expect(count.get(e.eventId), `${a.key} ${e.eventId}`).toBe(1);
    }
    expect((await storedEvents()).filter((e) => e.type === 'HouseholdAssessed')).toHaveLength(ASSESSMENTS);

    // Sent once more through the restarted API process, every command appends nothing.
    for (let i = 0; i < ASSESSMENTS; i++) {
      const again = await cadre2.post('/v1/households/hh-1/assessments', assessment(i), { 'idempotency-key': `assess-${i}` });
      expect(again.status).toBe(200);
    }
    expect((await storedEvents()).filter((e) => e.type === 'HouseholdAssessed')).toHaveLength(ASSESSMENTS);

    // Every escalation step is written once: levels 1, 2, 3 per problem, no repeat.
    for (const id of problemIds) {
      const levels = (await storedEvents())
        .filter((e) => e.stream_id === `problem-${id}` && e.type === 'ProblemEscalated')
        .map((e) => (JSON.parse(e.data) as { level: number }).level);
      expect(levels, id).toEqual([1, 2, 3]);
    }

    // The projector's ledgers equal a rebuild from the events (the as-of view replays the store).
    const inspector = await as(api1, U.diqing, 'inspector');
    let live: ApiResponse | undefined;
    let rebuilt: ApiResponse | undefined;
    await until(
      async () => {
        const head = (await admin.query<{ position: string }>('SELECT max(position)::text AS position FROM events')).rows[0]!.position;
        live = await inspector.get(`/v1/ledgers/problems?unitId=${U.diqing}`);
        if (live.body.position !== head) return false;
        rebuilt = await inspector.get(`/v1/ledgers/problems?unitId=${U.diqing}&position=${head}`);
        return true;
      },
      60_000,
      'the ledgers caught up',
    );
    expect(live!.body.items).toHaveLength(PROBLEMS);
    expect(live!.body.items).toEqual(rebuilt!.body.items);
    const households = await inspector.get(`/v1/ledgers/households?unitId=${U.diqing}`);
    const householdsRebuilt = await inspector.get(`/v1/ledgers/households?unitId=${U.diqing}&position=${live!.body.position}`);
    expect(households.body.items).toEqual(householdsRebuilt.body.items);
  });
});

const assessment = (i: number) => ({ food: true, clothing: true, education: true, medical: true, housing: i % 2 === 0, water: true });
