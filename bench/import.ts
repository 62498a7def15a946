/**
 * Import benchmark: a generated prefecture imported from files (units, then households, plan measures and
 * problems as CSV, one import each, through the import service: read, check every row with the deciders
 * and scope rules, then the one command handler with group commit), against the event store's own
 * batch-append rate measured in the same run on the same events (batches of 100 to fresh streams through
 * the port, in a second file of the same folder that grows to the same size). The projections follow the
 * import in a projector of their own (`services/main.ts --role projector` over the same files, as
 * production runs them), so the import's figures are its own and the projector's CPU is counted apart;
 * BENCH_PROJECTIONS=inline runs them in the import's process instead, as `npm start` does. Then the ledgers catch up, and the 帮扶措施 ledger
 * (every plan measure) is exported as .xlsx in a fresh process whose peak RSS is sampled. One JSON object.
 *
 *   npm run bench:import
 *   BENCH_HOUSEHOLDS=4000 BENCH_MEASURES=20000 BENCH_PROBLEMS=1000 npm run bench:import
 *   BENCH_CPU_PROF=/tmp/prof npm run bench:import   # a CPU profile of each file's import and of the baseline
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Actor, NewEvent } from '../events/envelope.js';
import { POLICY_V1 } from '../events/problem/policy.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../infra/sqlite/read-model.js';
import { createApiServices } from '../services/commands/index.js';
import type { ImportKind } from '../services/spreadsheets/fields.js';
import { writeSheets } from '../services/spreadsheets/write.js';
import { createLedgerQueries, startProjections } from '../services/ledgers/index.js';
import { expected } from '../services/ports/event-store.js';
import { createUnitHierarchy } from '../services/hierarchy.js';
import { createLedgerExports } from '../services/exports/index.js';
import { freePort } from '../infra/tools/process.js';
import { repoRoot } from '../infra/tools/paths.js';
import { startProfile } from './profile.js';

const HOUSEHOLDS = Number(process.env['BENCH_HOUSEHOLDS'] ?? 40_000);
const MEASURES = Number(process.env['BENCH_MEASURES'] ?? 200_000);
const PROBLEMS = Number(process.env['BENCH_PROBLEMS'] ?? 10_000);
const BASELINE_EVENTS = Number(process.env['BENCH_BASELINE_EVENTS'] ?? Infinity);
const PROJECTIONS = process.env['BENCH_PROJECTIONS'] === 'inline' ? 'inline' : 'projector';
const log = (message: string) => process.stderr.write(`[bench:import] ${message}\n`);
const silent = pino({ level: 'silent' });
const PREFECTURE = '533400';

// ---------------------------------------------------------------------------------------------------
// The export, in its own process so its peak RSS is the export's alone.

async function exportChild(dir: string) {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const store = openSqliteEventStore({ path: join(dir, 'events.db') });
  const readModel = createSqliteReadModel({ path: join(dir, 'ledgers.db') });
  const hierarchy = createUnitHierarchy({ store });
  await hierarchy.start();
  const ledgers = createLedgerQueries({ eventStore: store, readModel });
  const exports = createLedgerExports({ ledgers, store, nameOf: hierarchy.view.nameOf, timeZone: 'Asia/Shanghai' });
  const began = performance.now();
  const workbook = await exports.planMeasures({ unitId: PREFECTURE });
  const out = createWriteStream(join(dir, 'plan-measures.xlsx'));
  const rows = await writeSheets(out, 'xlsx', workbook.heading, workbook.sheets);
  if (!out.writableFinished) await once(out, 'finish');
  const seconds = (performance.now() - began) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  await hierarchy.close();
  await readModel.close();
  await store.close();
  process.send!({ rows, seconds, peakRssMb: peak / 1024 / 1024 });
}

// ---------------------------------------------------------------------------------------------------
// The projector, as production runs it: `services/main.ts --role projector` over the same DATA_DIR.

interface Projector {
  child: ChildProcess;
  /** User and system CPU seconds the process has used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

async function startProjector(dir: string): Promise<Projector> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir, PORT: String(port), LOG_LEVEL: 'fatal' };
  for (const name of ['DATABASE_URL', 'ESDB_URL', 'REDIS_URL', 'TEMPORAL_ADDRESS']) delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', '--role', 'projector'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the projector exited ${child.exitCode}:\n${output}`);
    const up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 200, () => false);
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    // utime and stime, the 14th and 15th fields of /proc/<pid>/stat, in clock ticks (USER_HZ, 100 on Linux).
    cpuSeconds() {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`the projector exited ${code}:\n${output}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The prefecture, as the offices' files.

function files(dir: string) {
  const counties = 8;
  const townshipsPerCounty = 10;
  const villages = Math.max(counties * townshipsPerCounty, Math.ceil(HOUSEHOLDS / 50));
  const villagesPerTownship = Math.ceil(villages / (counties * townshipsPerCounty));
  const units = ['单位代码,单位名称,层级,上级单位代码,人口', `${PREFECTURE},迪庆藏族自治州,州（市）,,400000`];
  const villageIds: string[] = [];
  for (let c = 1; c <= counties; c++) {
    const county = `5334${String(c).padStart(2, '0')}`;
    units.push(`${county},第${c}县,县（市）,${PREFECTURE},50000`);
    for (let t = 1; t <= townshipsPerCounty; t++) {
      const township = `${county}${String(t).padStart(3, '0')}`;
      units.push(`${township},第${c}县第${t}镇,乡（镇）,${county},5000`);
      for (let v = 1; v <= villagesPerTownship; v++) {
        const village = `${township}${String(v).padStart(3, '0')}`;
        units.push(`${village},第${t}镇第${v}村,行政村,${township},500`);
        villageIds.push(village);
      }
    }
  }
  const categories = ['建档立卡户', '边缘户', '监测户'];
  const households = ['户编号,所属村代码,家庭人口,户类别'];
  const householdVillage: string[] = [];
  for (let h = 0; h < HOUSEHOLDS; h++) {
    const village = villageIds[h % villageIds.length]!;
    householdVillage.push(village);
    households.push(`h-${h},${village},${(h % 6) + 1},${categories[h % 3]}`);
  }
  const kinds = ['产业', '就业', '教育', '医疗', '住房', '饮水'];
  const measures = ['户编号,措施编号,措施类型,措施内容,责任单位代码,完成时限,是否完成'];
  for (let m = 0; m < MEASURES; m++) {
    const h = m % HOUSEHOLDS;
    measures.push(`h-${h},m-${m},${kinds[m % kinds.length]},安排帮扶措施第${m}项（公益性岗位、产业扶持）,${householdVillage[h]},2099-06-30,否`);
  }
  const sources = ['督查巡查', '审计', '自查', '回头看'];
  const problems = ['问题编号,问题所在单位代码,责任单位代码,问题来源,问题类别,严重程度,问题描述,整改时限'];
  for (let p = 0; p < PROBLEMS; p++) {
    const village = villageIds[p % villageIds.length]!;
    problems.push(`p-${p},${village},${village},${sources[p % sources.length]},住房安全,${['一般', '较重', '严重'][p % 3]},危房改造未完成，住房安全有保障认定依据不足（第${p}号）,2099-06-30`);
  }
  const write = (name: string, lines: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, `${lines.join('\r\n')}\r\n`);
    return path;
  };
  return {
    units: write('units.csv', units),
    households: write('households.csv', households),
    plan_measures: write('plan_measures.csv', measures),
    problems: write('problems.csv', problems),
    unitCount: units.length - 1,
  };
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'duban-bench-import-'));
  try {
    const store = openSqliteEventStore({ path: join(dir, 'events.db') });
    const readModel = createSqliteReadModel({ path: join(dir, 'ledgers.db') });
    const projections = PROJECTIONS === 'inline' ? startProjections({ eventStore: store, readModel, logger: silent }) : undefined;
    const projector = PROJECTIONS === 'projector' ? await startProjector(dir) : undefined;
    const ledgers = createLedgerQueries({ eventStore: store, readModel });
    const api = createApiServices({ store, ledgers, policy: POLICY_V1, logger: silent });
    await api.start();
    const { imports } = api.services;
    const f = files(dir);
    log(`files: ${f.unitCount} units, ${HOUSEHOLDS} households, ${MEASURES} plan measures, ${PROBLEMS} problems`);

    const admin: Actor = { userId: 'bench-admin', unitId: PREFECTURE, role: 'admin' };
    const supervisor: Actor = { userId: 'bench-supervisor', unitId: PREFECTURE, role: 'supervisor' };
    const importFile = async (kind: ImportKind, path: string, actor: Actor) => {
      const before = await store.headPosition();
      const profiler = await startProfile();
      const began = performance.now();
      const cpuBefore = process.cpuUsage();
      const read = await imports.read(readFileSync(path), kind);
      const readSeconds = (performance.now() - began) / 1000;
      // The dry run ends when its last progress says every row is checked; the commit follows.
      let checked = began;
      const onProgress = (p: { phase: string; done: number; total: number }) => {
        if (p.phase === 'checking' && p.done === p.total) checked = performance.now();
      };
      const report = await imports.run(read, { kind, actor, dryRun: false, correlationId: randomUUID(), onProgress });
      const seconds = (performance.now() - began) / 1000;
      const checkSeconds = (checked - began) / 1000 - readSeconds;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      await profiler.stop(`import-${kind}`);
      if (!report.valid) throw new Error(`${kind}: ${JSON.stringify(report.issues.slice(0, 3))}`);
      const events = Number((await store.headPosition()) - before);
      log(`${kind}: ${report.rows} rows, ${events} events in ${seconds.toFixed(1)} s (read ${readSeconds.toFixed(1)} s, check ${checkSeconds.toFixed(1)} s)`);
      return { rows: report.rows, events, seconds, readSeconds, checkSeconds, cpuSeconds };
    };
    // The import process's peak RSS while the files are imported (the dry run holds every row's decisions).
    let importPeak = process.memoryUsage().rss;
    const sampler = setInterval(() => (importPeak = Math.max(importPeak, process.memoryUsage().rss)), 100);
    const projectorCpuBefore = projector?.cpuSeconds() ?? 0;
    await importFile('units', f.units, admin);
    const timed = {
      households: await importFile('households', f.households, admin),
      plan_measures: await importFile('plan_measures', f.plan_measures, admin),
      problems: await importFile('problems', f.problems, supervisor),
    };
    clearInterval(sampler);
    const importEvents = Object.values(timed).reduce((n, t) => n + t.events, 0);
    const importSeconds = Object.values(timed).reduce((n, t) => n + t.seconds, 0);
    const importEps = importEvents / importSeconds;
    // On a machine others load, wall time says more about them than about us: the same ratio over CPU time too.
    const importCpuEps = importEvents / Object.values(timed).reduce((n, t) => n + t.cpuSeconds, 0);

    const catchUpBegan = performance.now();
    const head = await store.headPosition();
    if (projections) await projections.caughtUp(head);
    else while ((await readModel.active.checkpoint()) < head) await new Promise((resolve) => setTimeout(resolve, 10));
    const catchUpSeconds = (performance.now() - catchUpBegan) / 1000;
    const projectorCpuSeconds = projector ? projector.cpuSeconds() - projectorCpuBefore : undefined;
    await projector?.stop();

    // The store's own batch appends of the same events (fresh ids, fresh streams of 100), same folder, as
    // many as the import appended (BENCH_BASELINE_EVENTS: fewer), so its file grows to the size the
    // import's did: the store's appends slow down as the file grows. Read as they are appended (the heap
    // stays small); only the appends are timed.
    const baseline = openSqliteEventStore({ path: join(dir, 'baseline.db') });
    const limit = Math.min(BASELINE_EVENTS, importEvents);
    let baselineEvents = 0;
    let baselineMs = 0;
    let baselineCpuMicros = 0;
    let batch: NewEvent[] = [];
    const profiler = await startProfile();
    const appendBatch = async () => {
      const began = performance.now();
      const cpu = process.cpuUsage();
      await baseline.append(`baseline-${baselineEvents}`, batch, expected.noStream);
      const used = process.cpuUsage(cpu);
      baselineCpuMicros += used.user + used.system;
      baselineMs += performance.now() - began;
      baselineEvents += batch.length;
      batch = [];
    };
    for await (const e of store.readAll()) {
      if (e.type === 'UnitRegistered') continue;
      const { prevHash: _p, recordedAt: _r, hash: _h, ...metadata } = e.metadata as NewEvent['metadata'] & { prevHash?: string; recordedAt?: string; hash?: string };
      batch.push({ type: e.type, data: e.data, metadata: { ...metadata, eventId: randomUUID() } });
      if (batch.length === 100) await appendBatch();
      if (baselineEvents + batch.length >= limit) break;
    }
    if (batch.length > 0) await appendBatch();
    await profiler.stop('baseline');
    const batchEps = baselineEvents / (baselineMs / 1000);
    const batchCpuEps = baselineEvents / (baselineCpuMicros / 1e6);
    await baseline.close();
    log(`baseline: ${baselineEvents} events in batches of 100 at ${Math.round(batchEps)}/s; import ${Math.round(importEps)}/s`);

    await projections?.stop();
    await api.close();
    await readModel.close();
    await store.close();

    const exported = await new Promise<{ rows: number; seconds: number; peakRssMb: number }>((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), ['--export', dir], { execArgv: ['--import', 'tsx'] });
      child.once('message', (m) => resolve(m as { rows: number; seconds: number; peakRssMb: number }));
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`export exited ${code}`))));
    });
    log(`export: ${exported.rows} rows in ${exported.seconds.toFixed(1)} s, peak RSS ${Math.round(exported.peakRssMb)} MB`);

    const round = (n: number) => Math.round(n);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'import',
        store: 'sqlite',
        households: HOUSEHOLDS,
        plan_measures: MEASURES,
        problems: PROBLEMS,
        units: f.unitCount,
        import_events: importEvents,
        import_seconds: +importSeconds.toFixed(2),
        import_eps: round(importEps),
        import_by_kind: Object.fromEntries(Object.entries(timed).map(([k, t]) => [k, { rows: t.rows, events: t.events, eps: round(t.events / t.seconds), read_seconds: +t.readSeconds.toFixed(2), check_seconds: +t.checkSeconds.toFixed(2), commit_seconds: +(t.seconds - t.readSeconds - t.checkSeconds).toFixed(2) }])),
        store_batch_append_eps: round(batchEps),
        baseline_events: baselineEvents,
        import_ratio: +(importEps / batchEps).toFixed(3),
        import_ratio_target: 0.5,
        import_cpu_eps: round(importCpuEps),
        store_batch_append_cpu_eps: round(batchCpuEps),
        import_ratio_cpu: +(importCpuEps / batchCpuEps).toFixed(3),
        import_peak_rss_mb: round(importPeak / 1024 / 1024),
        projections: PROJECTIONS,
        ledgers_catch_up_seconds: +catchUpSeconds.toFixed(2),
        ledgers_caught_up: true,
        ...(projectorCpuSeconds === undefined ? {} : { projector_cpu_seconds: +projectorCpuSeconds.toFixed(2) }),
        export_plan_measures: { rows: exported.rows, rows_per_s: round(exported.rows / exported.seconds), peak_rss_mb: round(exported.peakRssMb), peak_rss_target_mb: 512 },
        loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
      })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--export') await exportChild(process.argv[3]!);
else await main();
