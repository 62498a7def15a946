/**
 * `npm run bench:soak`: the service under sustained mixed load, as `npm start` runs it (one process with
 * the API, the projections, the worker, the reactor and a Temporal dev server of its own; SQLite event
 * store, embedded ledgers) started as a child on a fresh DATA_DIR. Autocannon, in a second child, sends
 * BENCH_DURATION_S (default 60) seconds of commands over 32 connections: in turn a new problem, a measure
 * completion and a household assessment. Probe problems found just before the load fall due during it.
 *
 * Measured from the outside: the service's event store and reactor checkpoint are read from its DATA_DIR
 * (read-only SQLite) every half second, its memory from /proc.
 * - `reactor_lag_p99_events`: clock-moving problem events stored but past the reactor's saved checkpoint.
 * - `probe_escalation_lag_p99_ms`: recordedAt of a probe's first ProblemEscalated minus its deadline.
 * - `reactor_ratio`: problems whose workflow the reactor started during the load (their ProblemFound at
 *   or before its checkpoint when the load ends) per problem found during the load.
 * - `peak_rss_mb`: the service process's high-water mark (VmHWM), the Temporal dev server not included.
 * Baseline in the same run: the same kind of probes falling due on the idle service, before the load.
 * Prints one JSON object. BENCH_CPU_PROF=<dir> runs the service with `--cpu-prof` into that folder (one
 * profile per thread, written as it exits); bench/profile-top.ts summarises one.
 *
 *   npm run bench:soak
 *   BENCH_DURATION_S=20 BENCH_PROBLEMS=100 npm run bench:soak     # reduced
 *   BENCH_TEMPORAL_ADDRESS=host:7233 npm run bench:soak   # the service on that server (TEMPORAL_ADDRESS) instead of its
 *                                                          # own dev server, in a namespace of the run's own
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { repoRoot } from '../infra/tools/paths.js';
import { freePort } from '../infra/tools/process.js';
import { signToken } from '../services/auth/tokens.js';
import type { Role } from '../services/auth/principal.js';
import { REACTOR_SUBSCRIBER_ID } from '../services/reactor.js';
import { clockEventTypes } from '../workflows/clock.js';
import { loadProblemBody } from './fixtures.js';
import { freshBenchNamespace } from './temporal-namespace.js';

const CONNECTIONS = 32;
const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 60);
const PROBLEMS = Number(process.env['BENCH_PROBLEMS'] ?? 400);
const MEASURES = Number(process.env['BENCH_MEASURES'] ?? 10);
const HOUSEHOLDS = Number(process.env['BENCH_HOUSEHOLDS'] ?? 200);
const PROBES = Number(process.env['BENCH_PROBES'] ?? 40);
const IDLE_PROBES = Number(process.env['BENCH_IDLE_PROBES'] ?? 10);
/** How long to wait after the load for the reactor to catch up and the probes to escalate. */
const DRAIN_LIMIT_MS = Number(process.env['BENCH_DRAIN_LIMIT_MS'] ?? 180_000);
const SAMPLE_MS = 500;
const TARGETS = { reactor_ratio: 1.0, probe_escalation_lag_p99_ms: 10_000, peak_rss_mb: 512, lag_zero_within_ms: 5_000 };
const secret = 'bench-soak-secret-0123456789-0123456789-0123';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number);
};

// ----- the service, as `npm start` runs it
const dataDir = mkdtempSync(join(tmpdir(), 'duban-bench-soak-'));
const port = await freePort();
// One user sends all the load: the per-user rate limit gets a ceiling the bench never reaches (as bench:http).
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATA_DIR: dataDir,
  PORT: String(port),
  HOST: '127.0.0.1',
  JWT_SECRET: secret,
  LOG_LEVEL: 'warn',
  RATE_LIMIT_PER_MINUTE: '1000000',
  SQLITE_SYNCHRONOUS: 'FULL',
};
for (const outside of ['DATABASE_URL', 'ESDB_URL', 'REDIS_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'ESCALATION_POLICY', 'NODE_ENV']) delete env[outside];
const outsideTemporal = process.env['BENCH_TEMPORAL_ADDRESS'];
if (outsideTemporal) Object.assign(env, { TEMPORAL_ADDRESS: outsideTemporal, TEMPORAL_NAMESPACE: await freshBenchNamespace(outsideTemporal) });
const profileDir = process.env['BENCH_CPU_PROF'];
const profileFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
const service = spawn(process.execPath, [...profileFlags, '--import', 'tsx', 'services/main.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
/** The reactor's "signal not accepted; retrying" warnings: signals the Temporal server refused or timed out. */
let signalRetries = 0;
const keep = (chunk: Buffer) => {
  const text = chunk.toString();
  signalRetries += text.split('signal not accepted; retrying').length - 1;
  output = (output + text).slice(-20_000);
};
service.stdout.on('data', keep);
service.stderr.on('data', keep);
const exited = new Promise<number | null>((resolve) => service.once('exit', (code) => resolve(code)));
const baseUrl = `http://127.0.0.1:${port}`;

async function stopService() {
  if (service.exitCode === null) service.kill('SIGTERM');
  const timer = setTimeout(() => service.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

try {
  const booted = Date.now();
  for (;;) {
    if (service.exitCode !== null) throw new Error(`the service exited ${service.exitCode}:\n${output}`);
    if (await fetch(`${baseUrl}/health`).then((r) => r.status === 200, () => false)) break;
    if (Date.now() - booted > 240_000) throw new Error(`the service was not healthy within 240 s:\n${output}`);
    await sleep(500);
  }
  const startupSeconds = (Date.now() - booted) / 1000;

  const tokenOf = (role: Role) => signToken(secret, { userId: `soak-${role}`, unitId: 'soak-pref', role });
  const tokens = { admin: await tokenOf('admin'), supervisor: await tokenOf('supervisor'), cadre: await tokenOf('cadre') };
  async function post(token: string, path: string, body: unknown): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(baseUrl + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.ok) return;
      // Setup runs as fast as the service takes it: shed load (503) and conflicts are tried again.
      if ((res.status === 503 || res.status === 409 || res.status === 429) && attempt < 20) {
        await sleep(200 * (attempt + 1));
        continue;
      }
      throw new Error(`POST ${path}: ${res.status} ${text}`);
    }
  }
  async function inPool(count: number, width: number, work: (i: number) => Promise<unknown>) {
    let next = 0;
    await Promise.all(Array.from({ length: width }, async () => {
      while (next < count) await work(next++);
    }));
  }

  // ----- fixtures over HTTP: 4 counties × 4 townships × 4 villages, households, problems with measures
  const setupStarted = Date.now();
  await post(tokens.admin, '/v1/units', { id: 'soak-pref', name: '迪庆藏族自治州', level: 'prefecture', parentId: null });
  const villages: string[] = [];
  for (let c = 0; c < 4; c++) {
    await post(tokens.admin, '/v1/units', { id: `s${c}`, name: `县${c}`, level: 'county', parentId: 'soak-pref' });
    for (let t = 0; t < 4; t++) {
      await post(tokens.admin, '/v1/units', { id: `s${c}t${t}`, name: `镇${t}`, level: 'township', parentId: `s${c}` });
      for (let v = 0; v < 4; v++) {
        await post(tokens.admin, '/v1/units', { id: `s${c}t${t}v${v}`, name: `村${v}`, level: 'village', parentId: `s${c}t${t}` });
        villages.push(`s${c}t${t}v${v}`);
      }
    }
  }
  await inPool(HOUSEHOLDS, CONNECTIONS, (h) =>
    post(tokens.admin, '/v1/households', { id: `hh-${h}`, villageId: villages[h % villages.length], members: 1 + (h % 6), category: 'registered' }),
  );
  await inPool(PROBLEMS, CONNECTIONS, async (p) => {
    const village = villages[p % villages.length]!;
    await post(tokens.supervisor, '/v1/problems', loadProblemBody(`sp${p}`, village));
    for (let m = 0; m < MEASURES; m++) {
      await post(tokens.cadre, `/v1/problems/sp${p}/measures`, { measureId: `m${m}`, description: '措施', assigneeUnitId: village, deadline: '2099-06-01' });
    }
  });
  const setupSeconds = (Date.now() - setupStarted) / 1000;

  // ----- the service's own files, read-only
  const events = new Database(join(dataDir, 'events.db'), { readonly: true, fileMustExist: true });
  const checkpoints = new Database(join(dataDir, 'checkpoints.db'), { readonly: true, fileMustExist: true });
  const types = clockEventTypes.map((t) => `'${t}'`).join(',');
  const headStmt = events.prepare<[], { head: number | null }>('SELECT max(position) AS head FROM events');
  const checkpointStmt = checkpoints.prepare<[string], { position: string }>('SELECT position FROM subscriber_checkpoints WHERE subscriber_id = ?');
  const clockEventsAfter = events.prepare<[number], { n: number }>(
    `SELECT count(*) AS n FROM events WHERE position > ? AND stream_id LIKE 'problem-%' AND type IN (${types})`,
  );
  const clockEventsBetween = events.prepare<[number, number], { n: number }>(
    `SELECT count(*) AS n FROM events WHERE position > ? AND position <= ? AND stream_id LIKE 'problem-%' AND type IN (${types})`,
  );
  const foundBetween = events.prepare<[number, number], { n: number }>(
    `SELECT count(*) AS n FROM events WHERE position > ? AND position <= ? AND type = 'ProblemFound'`,
  );
  const escalations = events.prepare<[string], { stream_id: string; metadata: string }>(
    `SELECT stream_id, metadata FROM events WHERE type = 'ProblemEscalated' AND stream_id LIKE ? ORDER BY position`,
  );
  const head = () => headStmt.get()?.head ?? -1;
  const reactorCheckpoint = () => Number(checkpointStmt.get(REACTOR_SUBSCRIBER_ID)?.position ?? -1);
  const reactorLag = () => clockEventsAfter.get(reactorCheckpoint())?.n ?? 0;
  const rssMb = (field: 'VmRSS' | 'VmHWM') => {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${service.pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  };
  /** The reactor's delivery-time histogram (cumulative buckets), from GET /metrics. */
  async function reactorDeliveries() {
    const text = await (await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${tokens.supervisor}` } })).text();
    return [...text.matchAll(/^duban_reactor_delivery_duration_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)].map(([, le, n]) => ({
      le: le === '+Inf' ? Infinity : Number(le),
      n: Number(n),
    }));
  }
  /** The bucket bound (ms) under which a share `q` of the deliveries between two scrapes took. */
  const deliveryQuantileMs = (from: Awaited<ReturnType<typeof reactorDeliveries>>, to: typeof from, q: number) => {
    const counts = to.map((b, i) => ({ le: b.le, n: b.n - (from[i]?.n ?? 0) }));
    const total = counts.at(-1)?.n ?? 0;
    const bound = counts.find((b) => b.n >= q * total)?.le;
    return total === 0 || bound === undefined ? null : bound * 1000;
  };
  async function drained(limitMs: number) {
    const from = Date.now();
    while (reactorLag() > 0) {
      if (Date.now() - from > limitMs) return null;
      await sleep(100);
    }
    return Date.now() - from;
  }

  /** Probes `prefix`0… found now, falling due at `deadlines`; resolves to each one's lag (ms, or null if none). */
  async function findProbes(prefix: string, deadlines: number[]) {
    await inPool(deadlines.length, 8, async (i) => {
      const village = villages[i % villages.length]!;
      await post(tokens.supervisor, '/v1/problems', {
        problemId: `${prefix}${i}`,
        targetUnitId: village,
        responsibleUnitId: village,
        category: 'housing',
        source: 'inspection',
        description: '到期探针',
        severity: 'medium',
        deadline: new Date(deadlines[i]!).toISOString(),
      });
    });
  }
  async function probeLags(prefix: string, deadlines: number[], untilMs: number) {
    const lags = new Map<string, number>();
    for (;;) {
      for (const row of escalations.all(`problem-${prefix}%`)) {
        const i = Number(row.stream_id.slice(`problem-${prefix}`.length));
        if (!lags.has(row.stream_id)) lags.set(row.stream_id, Date.parse((JSON.parse(row.metadata) as { recordedAt: string }).recordedAt) - deadlines[i]!);
      }
      if (lags.size === deadlines.length || Date.now() > untilMs) break;
      await sleep(250);
    }
    return [...lags.values()];
  }

  const setupDrainMs = await drained(DRAIN_LIMIT_MS);
  const afterSetupDrain = await reactorDeliveries();

  // ----- baseline: probes falling due on the idle service
  const idleDue = Date.now() + 8_000;
  const idleDeadlines = Array.from({ length: IDLE_PROBES }, (_, i) => Math.ceil((idleDue + i * 100) / 1000) * 1000);
  await findProbes('idle-probe-', idleDeadlines);
  const idleLags = await probeLags('idle-probe-', idleDeadlines, Math.max(...idleDeadlines) + 60_000);

  // ----- the load, with probes falling due during it
  const loadStartAt = Date.now() + 5_000;
  const probeDeadlines = Array.from({ length: PROBES }, (_, i) =>
    Math.ceil((loadStartAt + 10_000 + (i * (DURATION_S * 1000 - 15_000)) / Math.max(1, PROBES)) / 1000) * 1000,
  );
  await findProbes('probe-', probeDeadlines);
  await drained(30_000);
  const headAtStart = head();
  const lagSamples: number[] = [];
  const rssSamples: number[] = [];
  let sampling = true;
  const beforeLoad = await reactorDeliveries();
  const sampler = (async () => {
    while (sampling) {
      lagSamples.push(reactorLag());
      rssSamples.push(rssMb('VmRSS'));
      await sleep(SAMPLE_MS);
    }
  })();
  const loadStarted = Date.now();
  const job = {
    kind: 'mixed',
    url: baseUrl,
    connections: CONNECTIONS,
    duration: DURATION_S,
    token: tokens.cadre,
    supervisorToken: tokens.supervisor,
    problems: PROBLEMS,
    measures: MEASURES,
    problemPrefix: 'sp',
    villages,
    households: HOUSEHOLDS,
    runId: String(process.pid),
  };
  const loadResult = await new Promise<{ requests: number; ok: number; non2xx: number; errors: number; timeouts: number; p50_ms: number; p99_ms: number; statusCodes: Record<string, { count: number }> }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./http-load.ts', import.meta.url)), JSON.stringify(job)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited ${code}`))));
    },
  );
  const loadSeconds = (Date.now() - loadStarted) / 1000;
  const headAtEnd = head();
  const checkpointAtEnd = reactorCheckpoint();
  const lagAtEnd = reactorLag();
  sampling = false;
  await sampler;
  const afterLoad = await reactorDeliveries();

  const lagZeroAfterMs = await drained(DRAIN_LIMIT_MS);
  const probeLagsMs = await probeLags('probe-', probeDeadlines, Math.max(Date.now(), Math.max(...probeDeadlines)) + 60_000);
  const found = foundBetween.get(headAtStart, headAtEnd)?.n ?? 0;
  const started = foundBetween.get(headAtStart, Math.min(checkpointAtEnd, headAtEnd))?.n ?? 0;
  const clockEventsStored = clockEventsBetween.get(headAtStart, headAtEnd)?.n ?? 0;
  const clockEventsSignalled = clockEventsBetween.get(headAtStart, Math.min(checkpointAtEnd, headAtEnd))?.n ?? 0;
  const peakRss = rssMb('VmHWM');
  events.close();
  checkpoints.close();

  const probeP99 = quantile(probeLagsMs, 0.99);
  const missing = PROBES - probeLagsMs.length;
  const statusCodes = Object.fromEntries(Object.entries(loadResult.statusCodes).map(([code, { count }]) => [code, count]));
  const reactorRatio = found === 0 ? null : round(started / found, 3);
  const result = {
    reactor_lag_p99_events: quantile(lagSamples, 0.99),
    probe_escalation_lag_p99_ms: missing > 0 ? null : probeP99,
    peak_rss_mb: round(peakRss),
    reactor_ratio: reactorRatio,
    lag_zero_after_load_ms: lagZeroAfterMs,
    targets: TARGETS,
    met: {
      reactor_ratio: reactorRatio !== null && reactorRatio >= TARGETS.reactor_ratio,
      lag_zero_within_5s: lagZeroAfterMs !== null && lagZeroAfterMs <= TARGETS.lag_zero_within_ms,
      probe_escalation_lag_p99_ms: missing === 0 && probeP99 !== null && probeP99 <= TARGETS.probe_escalation_lag_p99_ms,
      peak_rss_mb: peakRss < TARGETS.peak_rss_mb,
    },
    baseline: {
      idle_probe_escalation_lag_p50_ms: quantile(idleLags, 0.5),
      idle_probe_escalation_lag_p99_ms: IDLE_PROBES - idleLags.length > 0 ? null : quantile(idleLags, 0.99),
      idle_probes_escalated: `${idleLags.length}/${IDLE_PROBES}`,
    },
    problems_found_per_s: round(found / loadSeconds),
    workflows_started_per_s: round(started / loadSeconds),
    // Every clock-moving event, not only ProblemFound: what the reactor signalled against what arrived.
    clock_events_stored_per_s: round(clockEventsStored / loadSeconds),
    clock_events_signalled_per_s: round(clockEventsSignalled / loadSeconds),
    reactor_lag_max_events: Math.max(0, ...lagSamples),
    reactor_signal_retries: signalRetries,
    reactor_lag_at_load_end_events: lagAtEnd,
    // How long the engine took to accept each clock start or signal (the bound of a histogram bucket).
    reactor_delivery_ms_at_most: {
      load_p50: deliveryQuantileMs(beforeLoad, afterLoad, 0.5),
      load_p99: deliveryQuantileMs(beforeLoad, afterLoad, 0.99),
      setup_p99: deliveryQuantileMs([], afterSetupDrain, 0.99),
    },
    probe_escalation_lag_p50_ms: quantile(probeLagsMs, 0.5),
    probe_escalation_lag_max_ms: quantile(probeLagsMs, 1),
    probes_escalated: `${probeLagsMs.length}/${PROBES}`,
    rss_p50_mb: round(quantile(rssSamples, 0.5) ?? NaN),
    load: {
      connections: CONNECTIONS,
      duration_s: round(loadSeconds),
      requests: loadResult.requests,
      ok_per_s: round(loadResult.ok / loadSeconds),
      p50_ms: loadResult.p50_ms,
      p99_ms: loadResult.p99_ms,
      status_codes: statusCodes,
      errors: loadResult.errors,
      timeouts: loadResult.timeouts,
      events_appended: headAtEnd - headAtStart,
    },
    fixtures: { problems: PROBLEMS, measures_each: MEASURES, households: HOUSEHOLDS, probes: PROBES, idle_probes: IDLE_PROBES },
    startup_s: round(startupSeconds),
    setup_s: round(setupSeconds),
    setup_reactor_drain_ms: setupDrainMs,
    load_average: loadavg().map((l) => round(l, 2)),
    service: `npm start (services/main.ts, all roles): SQLite synchronous=FULL, embedded ledgers, ${env['TEMPORAL_ADDRESS'] ? `the Temporal server at ${env['TEMPORAL_ADDRESS']} (namespace ${env['TEMPORAL_NAMESPACE']})` : 'Temporal dev server'}, default policy; logs at warn`,
  };
  console.log(JSON.stringify(result));
} finally {
  await stopService();
  rmSync(dataDir, { recursive: true, force: true });
}
