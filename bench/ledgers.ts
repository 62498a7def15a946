import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { provideRedis } from '../infra/redis/provider.js';
import { createRedisClient } from '../infra/redis/client.js';
import { createRedisReadModel } from '../infra/redis/read-model.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../infra/sqlite/read-model.js';
import { isUnavailable } from '../infra/tools/service.js';
import { decodeRecorded } from '../services/ledgers/decode.js';
import { createLedgerQueries, projectionDefaults, rebuildLedgers } from '../services/ledgers/index.js';
import { applyEvent, createLedgerState, skipEvent } from '../services/ledgers/state.js';
import type { EventStore } from '../services/ports/event-store.js';
import type { ReadModelStore } from '../services/ports/read-model.js';
import { seedPrefecture, simulatedClock } from '../test/fixtures/prefecture.js';
import { startProfile } from './profile.js';

/**
 * Ledger rebuild benchmark. Prints one JSON object. The baseline, measured in the same run on the same
 * events, is `replay_eps`: the event store's own read + decode + evolve of every ledger in memory, with no
 * read-model store at all. Each rebuild (every ledger into a fresh keyspace, with its checkpoints and
 * snapshots) is reported over it.
 *
 *   BENCH_EVENTS   events in the history (default 1,000,000)
 *   BENCH_KEEP=1   keep the generated event store in data/ and reuse it next time (same size, same seed)
 *   REDIS_URL      use this Redis instead of starting redis-server
 *   BENCH_EMBEDDED=0  leave out the embedded store's rebuild and as-of (its figures print as null)
 *   BENCH_SNAPSHOT_EVERY, BENCH_FULL_SNAPSHOT_EVERY  events between snapshots (default: a hundredth of them),
 *                  and every how many snapshots one is full (default as the projections'; the others are deltas)
 *   BENCH_REDIS=0  leave out the Redis rebuild and as-of (its figures print as null; for iterating on the embedded store)
 *   BENCH_CPU_PROF=<dir>  write each rebuild's CPU profile there (rebuild-embedded.cpuprofile, rebuild-redis.cpuprofile)
 *
 * `as_of_ms` is one county's roll-up as of the middle of the history, after one inspection of another county
 * has compiled the code (`as_of_first_ms`, as the replay has its warm-up).
 *
 * The history is seeded in a child process, so `peak_rss_mb` (this process's high-water mark) is the
 * replay's, the two rebuilds' and the inspections'; `peak_rss_mb_by_phase` gives each phase's own peak.
 */
const target = Number(process.env['BENCH_EVENTS'] ?? 1_000_000);
const keep = process.env['BENCH_KEEP'] === '1';
const withEmbedded = process.env['BENCH_EMBEDDED'] !== '0';
const withRedis = process.env['BENCH_REDIS'] !== '0';
const batchSize = Number(process.env['BENCH_BATCH'] ?? projectionDefaults.batchSize);
// A snapshot every hundredth of the history, every fifth of them full (a twentieth of the history apart).
const snapshotEvery = Number(process.env['BENCH_SNAPSHOT_EVERY'] ?? Math.max(1_000, Math.round(target / 100)));
const fullSnapshotEvery = Number(process.env['BENCH_FULL_SNAPSHOT_EVERY'] ?? projectionDefaults.fullSnapshotEvery);
const log = (message: string) => process.stderr.write(`[bench:ledgers] ${message}\n`);
const silent = pino({ level: 'silent' });

// About 42 households and 5 problems per village keep the mix of event kinds the same at any size.
const villages = Math.max(8, Math.round(target / 1250));
const counties = Math.max(2, Math.min(12, Math.round(Math.sqrt(villages / 10))));
const townshipsPerCounty = Math.max(2, Math.round(Math.sqrt(villages / counties)));
const villagesPerTownship = Math.max(2, Math.round(villages / (counties * townshipsPerCounty)));
const shape = { counties, townshipsPerCounty, villagesPerTownship, householdsPerVillage: 30 };

interface HistoryInfo {
  start: string;
  end: string;
  countyIds: string[];
  seededMs: number;
}

/** Seeds a history into `path` (run in a child process, so the seeding's memory is not the rebuild's peak). */
async function seed(path: string): Promise<HistoryInfo> {
  const clock = simulatedClock();
  const store = openSqliteEventStore({ path, now: clock.now, synchronous: 'NORMAL' });
  const began = performance.now();
  const summary = await seedPrefecture(store, clock, { seed: 1, shape, commands: Math.ceil(target * 1.005), spanDays: 300, inFlight: 512 });
  const seededMs = performance.now() - began;
  await store.close();
  log(`seeded ${summary.events} events from ${summary.commands} commands (${summary.refused} refused) in ${(seededMs / 1000).toFixed(1)} s`);
  return { start: summary.start, end: summary.end, countyIds: summary.countyIds, seededMs };
}

async function history(): Promise<{ path: string; dispose: () => Promise<void> } & HistoryInfo> {
  const cacheDir = join(process.cwd(), 'data');
  const cached = join(cacheDir, `bench-ledgers-${target}.db`);
  const meta = join(cacheDir, `bench-ledgers-${target}.json`);
  if (keep && existsSync(cached) && existsSync(meta)) {
    const info = JSON.parse(await readFile(meta, 'utf8')) as HistoryInfo;
    return { path: cached, dispose: async () => {}, ...info, seededMs: 0 };
  }
  const dir = await mkdtemp(join(tmpdir(), 'duban-bench-ledgers-'));
  const path = join(dir, 'events.db');
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_SEED_TO: path },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`seeding failed (exit ${child.status})`);
  const info = JSON.parse(child.stdout.toString('utf8')) as HistoryInfo;
  if (keep) {
    await mkdir(cacheDir, { recursive: true });
    await rename(path, cached);
    await writeFile(meta, JSON.stringify(info));
    await rm(dir, { recursive: true, force: true });
    return { path: cached, dispose: async () => {}, ...info };
  }
  return { path, dispose: () => rm(dir, { recursive: true, force: true }), ...info };
}

/** The baseline: the event store's read + decode + evolve of every ledger, in memory. */
async function replay(eventStore: EventStore): Promise<{ events: number; ms: number }> {
  const began = performance.now();
  const state = createLedgerState();
  let events = 0;
  for await (const raw of eventStore.readAll()) {
    events++;
    try {
      applyEvent(state, decodeRecorded(raw));
    } catch {
      skipEvent(state, raw);
    }
  }
  return { events, ms: performance.now() - began };
}

/** The rebuild an operator runs (`npm run admin -- rebuild`): every ledger into a fresh keyspace, then activated. */
async function rebuild(eventStore: EventStore, readModel: ReadModelStore, name: string): Promise<{ ms: number; keyspace: number }> {
  const profiler = await startProfile();
  const began = performance.now();
  const rebuilt = await rebuildLedgers({ eventStore, readModel, logger: silent, batchSize, snapshotEvery, fullSnapshotEvery, dropGraceMs: 0 });
  const ms = performance.now() - began;
  await profiler.stop(`rebuild-${name}`);
  if (rebuilt.parked.length > 0) log(`warning: ${rebuilt.parked.length} events parked`);
  return { ms, keyspace: rebuilt.keyspace };
}

/** A full garbage collection (the flag set at run time, so the bench runs as `tsx bench/ledgers.ts`). */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * This process's resident high-water mark in MB, and a fresh start for the next phase: the garbage is
 * collected, so the next phase starts from what is live (a Redis rebuild run after the embedded one peaked
 * 200 MB higher on the embedded one's garbage), and writing 5 to /proc/self/clear_refs resets the mark
 * (Linux 4.0+) to what is resident now, so each phase reports its own peak. Elsewhere: null, and only the
 * whole run's peak is reported.
 */
function phasePeakMb(): number | null {
  try {
    const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
    collectGarbage();
    writeFileSync('/proc/self/clear_refs', '5');
    return Number.isFinite(kb) ? Math.round(kb / 1024) : null;
  } catch {
    return null;
  }
}

async function main() {
  const h = await history();
  const eventStore = openSqliteEventStore({ path: h.path });
  const head = await eventStore.headPosition();

  // Warm-up so the first measured pass does not pay for compiling the code.
  {
    let n = 0;
    const state = createLedgerState();
    for await (const raw of eventStore.readAll({ toPosition: BigInt(Math.min(50_000, Number(head))) })) {
      n++;
      try {
        applyEvent(state, decodeRecorded(raw));
      } catch {
        skipEvent(state, raw);
      }
    }
    log(`warm-up ${n} events`);
  }

  const phasePeaks: Record<string, number | null> = { setup: phasePeakMb() };
  // This process's CPU time per phase (user + system): what the machine's load does not change as much as it
  // changes the wall-clock times (the Redis server's own time is not in it; SQLite's is).
  const phaseCpu: Record<string, number> = {};
  let cpuMark = process.cpuUsage();
  let runPeakKb = process.resourceUsage().maxRSS;
  const endPhase = (name: string) => {
    runPeakKb = Math.max(runPeakKb, process.resourceUsage().maxRSS);
    phasePeaks[name] = phasePeakMb();
    const used = process.cpuUsage(cpuMark);
    phaseCpu[name] = Math.round((used.user + used.system) / 1000);
    cpuMark = process.cpuUsage();
  };
  const baseline = await replay(eventStore);
  endPhase('replay');
  log(`replay ${baseline.events} events in ${(baseline.ms / 1000).toFixed(1)} s`);

  const dir = await mkdtemp(join(tmpdir(), 'duban-bench-rm-'));
  const embedded = createSqliteReadModel({ path: join(dir, 'read-model.db') });
  const embeddedRun = withEmbedded ? await rebuild(eventStore, embedded, 'embedded') : null;
  if (embeddedRun) {
    endPhase('embedded_rebuild');
    log(`embedded rebuild in ${(embeddedRun.ms / 1000).toFixed(1)} s`);
  }

  const redisService = withRedis ? await provideRedis({ url: process.env['REDIS_URL'] }) : null;
  if (redisService && isUnavailable(redisService)) throw new Error(`Redis unavailable: ${redisService.unavailable}`);
  const redisClient = redisService && createRedisClient(redisService.url, { name: 'bench-ledgers' });
  const redis = redisClient && createRedisReadModel({ redis: redisClient, prefix: `bench:ledgers:${randomUUID()}` });
  const redisRun = redis && (await rebuild(eventStore, redis, 'redis'));
  if (redisRun) {
    endPhase('redis_rebuild');
    log(`redis rebuild in ${(redisRun.ms / 1000).toFixed(1)} s`);
  }

  // One county's roll-up as of the middle of the history, cold (no cached state), from the Redis ledgers.
  const mid = new Date((Date.parse(h.start) + Date.parse(h.end)) / 2).toISOString();
  const county = h.countyIds[0]!;
  // First, as the replay's warm-up does, one inspection of each store compiles the code (another county, a
  // third of the way through, so it shares neither snapshot part nor events with the one measured); what it
  // cost is reported too (as_of_first_ms).
  const third = new Date(Date.parse(h.start) + (Date.parse(h.end) - Date.parse(h.start)) / 3).toISOString();
  const warmUnit = h.countyIds[1] ?? county;
  let began = performance.now();
  if (redis) await createLedgerQueries({ eventStore, readModel: redis }).rollup({ unitId: warmUnit, asOf: third });
  const asOfFirstMs = redis ? performance.now() - began : null;
  began = performance.now();
  if (embeddedRun) await createLedgerQueries({ eventStore, readModel: embedded }).rollup({ unitId: warmUnit, asOf: third });
  const asOfEmbeddedFirstMs = embeddedRun ? performance.now() - began : null;
  began = performance.now();
  const asOf = redis && (await createLedgerQueries({ eventStore, readModel: redis }).rollup({ unitId: county, asOf: mid }));
  const asOfMs = redis ? performance.now() - began : null;
  began = performance.now();
  if (embeddedRun) await createLedgerQueries({ eventStore, readModel: embedded }).rollup({ unitId: county, asOf: mid });
  const asOfEmbeddedMs = embeddedRun ? performance.now() - began : null;
  began = performance.now();
  await createLedgerQueries({ eventStore, readModel: redis ?? embedded }).rollup({ unitId: county });
  const liveMs = performance.now() - began;
  endPhase('inspections');

  const replayEps = baseline.events / (baseline.ms / 1000);
  const redisEps = redisRun ? baseline.events / (redisRun.ms / 1000) : null;
  const embeddedEps = embeddedRun ? baseline.events / (embeddedRun.ms / 1000) : null;
  const round = (n: number, digits = 0) => Number(n.toFixed(digits));
  console.log(
    JSON.stringify({
      events: baseline.events,
      prefecture: { ...shape, villages: counties * townshipsPerCounty * villagesPerTownship },
      seeded_ms: round(h.seededMs),
      replay_ms: round(baseline.ms),
      replay_eps: round(replayEps),
      redis_rebuild_ms: redisRun && round(redisRun.ms),
      redis_rebuild_eps: redisEps && round(redisEps),
      redis_rebuild_ratio: redisEps && round(redisEps / replayEps, 3),
      embedded_rebuild_ms: embeddedRun && round(embeddedRun.ms),
      embedded_rebuild_eps: embeddedEps && round(embeddedEps),
      embedded_rebuild_ratio: embeddedEps && round(embeddedEps / replayEps, 3),
      as_of: { unitId: county, time: mid, position: asOf?.position ?? null },
      as_of_ms: asOfMs && round(asOfMs, 1),
      as_of_ratio: asOfMs && redisRun && round(asOfMs / redisRun.ms, 4),
      as_of_first_ms: asOfFirstMs && round(asOfFirstMs, 1),
      as_of_embedded_ms: asOfEmbeddedMs && round(asOfEmbeddedMs, 1),
      as_of_embedded_ratio: asOfEmbeddedMs && embeddedRun && round(asOfEmbeddedMs / embeddedRun.ms, 4),
      as_of_embedded_first_ms: asOfEmbeddedFirstMs && round(asOfEmbeddedFirstMs, 1),
      live_rollup_ms: round(liveMs, 1),
      batch_size: batchSize,
      snapshot_every: snapshotEvery,
      full_snapshot_every: fullSnapshotEvery,
      peak_rss_mb: round(Math.max(runPeakKb, process.resourceUsage().maxRSS) / 1024),
      peak_rss_mb_by_phase: phasePeaks,
      cpu_ms_by_phase: phaseCpu,
      targets: { redis_rebuild_ratio: '>= 0.5', embedded_rebuild_ratio: '>= 0.5', as_of_ratio: '<= 0.005', peak_rss_mb: '< 512' },
      load_average: loadavg().map((n) => round(n, 1)),
    }),
  );

  if (redis && redisRun) await redis.dropKeyspace(redisRun.keyspace).catch(() => undefined);
  await redis?.close();
  await redisClient?.quit();
  await embedded.close();
  await eventStore.close();
  await rm(dir, { recursive: true, force: true });
  await h.dispose();
  if (redisService && !isUnavailable(redisService)) await redisService.stop();
}

const seedTo = process.env['BENCH_SEED_TO'];
if (seedTo) console.log(JSON.stringify(await seed(seedTo)));
else await main();
