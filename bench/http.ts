import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { pino } from 'pino';
import { DEFAULT_POLICY } from '../events/problem/index.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../infra/sqlite/read-model.js';
import { createTokenVerifier, signToken } from '../services/auth/tokens.js';
import { createApiServices } from '../services/commands/index.js';
import type { CommandMeta } from '../services/commands/handler.js';
import { apiFastifyOptions, httpApi } from '../services/http/api.js';
import { createSqliteIdempotencyStore } from '../infra/sqlite/idempotency.js';
import { createLedgerQueries, startProjections } from '../services/ledgers/index.js';
import { createMetrics } from '../services/metrics.js';

/**
 * `npm run bench:http`: the API as `npm start` serves it (SQLite event store with synchronous=FULL and
 * group commit, embedded ledgers with the projections running, JSON logs at info), loaded by autocannon
 * from a second process over loopback. The baseline is a bare fastify route in this same process and run.
 * Prints one JSON object.
 */
const CONNECTIONS = 64;
const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 10);
const PROBLEMS = Number(process.env['BENCH_PROBLEMS'] ?? 1000);
const MEASURES = Number(process.env['BENCH_MEASURES'] ?? 20);
const secret = 'bench-secret-0123456789-0123456789-01234567';

const dataDir = mkdtempSync(join(tmpdir(), 'duban-bench-http-'));
const logger = pino({ level: process.env['BENCH_LOG_LEVEL'] ?? 'info' }, pino.destination('/dev/null'));
const store = openSqliteEventStore({ path: join(dataDir, 'events.db'), synchronous: 'FULL' });
const readModel = createSqliteReadModel({ path: join(dataDir, 'ledgers.db') });
const projections = startProjections({ eventStore: store, readModel, logger });
const ledgers = createLedgerQueries({ eventStore: store, readModel });
const metrics = createMetrics();
const api = createApiServices({ store, ledgers, ledgerPosition: () => readModel.active.checkpoint(), policy: DEFAULT_POLICY, metrics, logger });
await api.start();
const idempotency = createSqliteIdempotencyStore(join(dataDir, 'idempotency.db'));

const app = Fastify({ loggerInstance: logger, bodyLimit: 64 * 1024, ...apiFastifyOptions });
await app.register(httpApi, { services: api.services, verifyToken: createTokenVerifier({ algorithm: 'HS256', secret }), idempotency, metrics });
await app.listen({ host: '127.0.0.1', port: 0 });
const hello = Fastify({ logger: false });
hello.get('/hello', async () => ({ hello: 'world' }));
await hello.listen({ host: '127.0.0.1', port: 0 });
const portOf = (server: typeof app.server) => (server.address() as { port: number }).port;
const apiUrl = `http://127.0.0.1:${portOf(app.server)}`;
const helloUrl = `http://127.0.0.1:${portOf(hello.server)}/hello`;

// Fixtures through the command layer: a prefecture of 4 counties × 4 townships × 4 villages, and
// PROBLEMS problems with MEASURES measures each, spread over the villages.
const setupStarted = performance.now();
const meta = (role: CommandMeta['actor']['role'], unitId = 'bench-pref'): CommandMeta => ({
  actor: { userId: `bench-${role}`, unitId, role },
  correlationId: 'bench-setup',
});
const { organisation, problems } = api.services;
await organisation.registerUnit({ unitId: 'bench-pref', name: '迪庆藏族自治州', level: 'prefecture', parentId: null }, meta('admin'));
const villages: string[] = [];
for (let c = 0; c < 4; c++) {
  await organisation.registerUnit({ unitId: `c${c}`, name: `县${c}`, level: 'county', parentId: 'bench-pref' }, meta('admin'));
  for (let t = 0; t < 4; t++) {
    await organisation.registerUnit({ unitId: `c${c}t${t}`, name: `镇${t}`, level: 'township', parentId: `c${c}` }, meta('admin'));
    for (let v = 0; v < 4; v++) {
      await organisation.registerUnit({ unitId: `c${c}t${t}v${v}`, name: `村${v}`, level: 'village', parentId: `c${c}t${t}` }, meta('admin'));
      villages.push(`c${c}t${t}v${v}`);
    }
  }
}
async function inPool(count: number, width: number, work: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await work(next++);
  }));
}
await inPool(PROBLEMS, 64, async (p) => {
  const village = villages[p % villages.length]!;
  await problems.find(
    { problemId: `bp${p}`, targetUnitId: village, responsibleUnitId: village, category: 'housing', source: 'inspection', description: '基准测试问题', severity: 'medium', deadline: '2099-06-30' },
    meta('supervisor'),
  );
  for (let m = 0; m < MEASURES; m++) {
    await problems.assignMeasure(`bp${p}`, { measureId: `m${m}`, description: '措施', assigneeUnitId: village, deadline: '2099-06-01' }, meta('cadre'));
  }
});
await projections.caughtUp();
const setupSeconds = (performance.now() - setupStarted) / 1000;

const cadreToken = await signToken(secret, { userId: 'bench-cadre', unitId: 'bench-pref', role: 'cadre' });
const supervisorToken = await signToken(secret, { userId: 'bench-supervisor', unitId: 'bench-pref', role: 'supervisor' });

interface LoadResult {
  rps: number;
  requests: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}
/** Runs one load and measures this (server) process's CPU time per request, which contention from
 *  other processes on the machine does not inflate the way it does wall-clock throughput. */
async function load(job: Record<string, unknown>): Promise<LoadResult & { cpu_us_per_req: number }> {
  const before = process.cpuUsage();
  const result = await loadOnce(job);
  const cpu = process.cpuUsage(before);
  return { ...result, cpu_us_per_req: Math.round((cpu.user + cpu.system) / Math.max(1, result.requests)) };
}
function loadOnce(job: Record<string, unknown>): Promise<LoadResult> {
  const script = fileURLToPath(new URL('./http-load.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited ${code}`))));
  });
}

const warm = (job: Record<string, unknown>) => load({ ...job, duration: 2 });
const helloJob = { kind: 'get', url: helloUrl, connections: CONNECTIONS };
const readJob = { kind: 'get', url: `${apiUrl}/v1/ledgers/units/c0`, connections: CONNECTIONS, token: supervisorToken };
await warm(helloJob);
const helloRun = await load({ ...helloJob, duration: DURATION_S });
await warm(readJob);
const readRun = await load({ ...readJob, duration: DURATION_S });
const commandRun = await load({
  kind: 'complete',
  url: apiUrl,
  connections: CONNECTIONS,
  amount: PROBLEMS * MEASURES,
  token: cadreToken,
  problems: PROBLEMS,
  problemPrefix: 'bp',
});
const helloAgain = await load({ ...helloJob, duration: DURATION_S });

await projections.caughtUp();
const verification = await store.verifyAll();
await app.close();
await hello.close();
await projections.stop();
await api.close();
await idempotency.close();
await readModel.close();
await store.close();
rmSync(dataDir, { recursive: true, force: true });

const helloRps = (helloRun.rps + helloAgain.rps) / 2;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const result = {
  command_rps: round(commandRun.rps),
  command_p99_ms: commandRun.p99_ms,
  read_rps: round(readRun.rps),
  read_p99_ms: readRun.p99_ms,
  hello_rps: round(helloRps),
  command_ratio: round(commandRun.rps / helloRps, 3),
  read_ratio: round(readRun.rps / helloRps, 3),
  targets: { read_ratio: 0.5, command_ratio: 0.2 },
  met: { read_ratio: readRun.rps / helloRps >= 0.5, command_ratio: commandRun.rps / helloRps >= 0.2 },
  connections: CONNECTIONS,
  command_requests: commandRun.requests,
  command_non2xx: commandRun.non2xx + commandRun.errors + commandRun.timeouts,
  read_non2xx: readRun.non2xx + readRun.errors + readRun.timeouts,
  command_p50_ms: commandRun.p50_ms,
  read_p50_ms: readRun.p50_ms,
  hello_runs_rps: [round(helloRun.rps), round(helloAgain.rps)],
  cpu_us_per_req: { hello: helloRun.cpu_us_per_req, read: readRun.cpu_us_per_req, command: commandRun.cpu_us_per_req },
  load_average: loadavg().map((l) => round(l, 2)),
  audit_chain_ok: verification.ok,
  events: verification.checked,
  setup_seconds: round(setupSeconds),
  duration_s: DURATION_S,
  store: 'sqlite synchronous=FULL, group commit; projections running; logs at info',
};
console.log(JSON.stringify(result));
