/**
 * bench:escalation — how fast the rectification clock escalates when many deadlines fall at once.
 *
 * On a local Temporal dev server (in memory) with a real SQLite event store, the real reactor, worker,
 * activities and a Redis notifier: N problems whose deadlines are the same instant are found, delivered
 * to their workflows, and left to escalate. Lag = recordedAt of the stored ProblemEscalated − deadline.
 * Baseline in the same run, same worker: N minimal workflows whose durable timers fire at one instant,
 * each followed by a no-op activity. Prints one JSON object.
 *
 *   npm run bench:escalation                  # N = 2000
 *   BENCH_N=5000 npm run bench:escalation     # another N
 *   BENCH_SWEEP=2000,5000,10000 npm run bench:escalation   # several N in one run (each after the other)
 *   BENCH_CPU_PROF=/tmp/prof npm run bench:escalation      # the main thread's CPU profile from the clocks' delivery to the round's last escalation
 *   BENCH_TEMPORAL_ADDRESS=host:7233 npm run bench:escalation   # on that server instead of the dev server, in a
 *                                                                  # namespace of the run's own
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { formatInstant } from '../events/time.js';
import { createLogNotifier } from '../infra/notifier/log.js';
import { createRedisNotifier } from '../infra/notifier/redis.js';
import { provideRedis } from '../infra/redis/provider.js';
import { createSqliteCheckpointStore } from '../infra/sqlite/checkpoints.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { provideTemporal } from '../infra/temporal/provider.js';
import { createTemporalWorkflowEngine } from '../infra/temporal/workflow-engine.js';
import { isUnavailable } from '../infra/tools/service.js';
import type { Notifier } from '../services/ports/notifier.js';
import { startReactor } from '../services/reactor.js';
import { rectificationWorkflowId } from '../workflows/rectification.contract.js';
import { bundleWorkflows, startWorker } from '../workflows/worker.js';
import { findProblemCommand, registerUnits, runCommand, supervisor } from '../test/workflows/world.js';
import { startProfile } from './profile.js';
import { freshBenchNamespace } from './temporal-namespace.js';

const sweep = (process.env['BENCH_SWEEP'] ?? process.env['BENCH_N'] ?? '2000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
/** Stop waiting for a round after this long past its deadline (the whole bench must stay under 10 min). */
const ROUND_LIMIT_MS = Number(process.env['BENCH_ROUND_LIMIT_MS'] ?? 180_000);
/** Workflows of each kind whose histories are read for their workflow task timeouts after a round. */
const TIMEOUT_SAMPLE = 200;
const taskTimedOut = proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT;

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number);
const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

function summarise(lags: number[], n: number) {
  const sorted = [...lags].sort((a, b) => a - b);
  const last = sorted.at(-1) ?? NaN;
  // Items not done within the round's limit count as infinitely late: their quantiles print as null.
  const padded = [...sorted, ...Array.from({ length: Math.max(0, n - sorted.length) }, () => Infinity)];
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    completed: sorted.length,
    lag_p50_ms: finite(quantile(padded, 0.5)),
    lag_p99_ms: finite(quantile(padded, 0.99)),
    lag_max_ms: sorted.length === n ? finite(last) : null,
    // All N fire at one instant: throughput is what was done over the time from that instant to the last.
    per_s: round1((sorted.length / Math.max(last, 1)) * 1000),
  };
}

async function main() {
  const t0 = Date.now();
  // Workflow logs at info would flood the output; warnings still show.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const logger = pino({ level: 'warn' });
  const outsideTemporal = process.env['BENCH_TEMPORAL_ADDRESS'];
  const temporal = await provideTemporal(
    outsideTemporal ? { address: outsideTemporal, namespace: await freshBenchNamespace(outsideTemporal) } : { useDocker: false },
  );
  if (isUnavailable(temporal)) throw new Error(`no Temporal server: ${temporal.unavailable}`);
  const redisServer = await provideRedis({ useDocker: false });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'duban-bench-esc-'));
  const storePath = path.join(dir, 'events.db');
  // FULL (default) fsyncs every commit; BENCH_SQLITE_SYNC=NORMAL shows how much of the lag is the disk.
  const synchronous = process.env['BENCH_SQLITE_SYNC'] === 'NORMAL' ? 'NORMAL' : 'FULL';
  const store = openSqliteEventStore({ path: storePath, synchronous });
  const checkpoints = createSqliteCheckpointStore({ path: storePath });
  const redis = isUnavailable(redisServer) ? undefined : new Redis(redisServer.url);
  const notifier: Notifier = redis ? createRedisNotifier({ redis, channel: 'duban:bench' }) : createLogNotifier({ logger });

  const connection = await NativeConnection.connect({ address: temporal.address });
  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection: clientConnection, namespace: temporal.namespace });
  const bundle: WorkflowBundleWithSourceMap = await bundleWorkflows(
    fileURLToPath(new URL('./escalation.workflows.ts', import.meta.url)),
  );
  const baselineDone = new Map<number, number>();
  const taskQueue = 'bench-escalation';
  const worker = await startWorker({
    connection,
    namespace: temporal.namespace,
    taskQueue,
    store,
    notifier,
    logger,
    workflowBundle: bundle,
    // The SDK's heap-sized default unless given (services/main.ts passes WORKER_MAX_CACHED_WORKFLOWS).
    ...(process.env['BENCH_MAX_CACHED'] ? { maxCachedWorkflows: Number(process.env['BENCH_MAX_CACHED']) } : {}),
    extraActivities: {
      async benchNoop(id: number) {
        baselineDone.set(id, Date.now());
      },
    },
  });
  // As services/main.ts wires it: the reactor's client on the worker's connection, clocks started eagerly.
  const workflows = createTemporalWorkflowEngine({
    client: new Client({ connection, namespace: temporal.namespace }),
    taskQueue,
    eagerStart: process.env['BENCH_EAGER_START'] !== '0',
  });
  const reactor = await startReactor({ store, workflows, checkpoints, logger });
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg()[0];
  await registerUnits(store, formatInstant(Date.now()));

  const rounds = [];
  let offset = 0;
  try {
    for (const n of sweep) {
      // ----- baseline: N timers at one instant, then a no-op activity each
      baselineDone.clear();
      const baselineStart = Date.now();
      const fireAt = baselineStart + 15_000 + n * 4;
      for (let i = 0; i < n; i += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, n - i) }, (_, k) =>
            client.workflow.start('timerBaselineWorkflow', {
              taskQueue,
              workflowId: `bench-timer-${offset + i + k}`,
              args: [{ id: offset + i + k, fireAt }],
            }),
          ),
        );
      }
      const baselineSetupMs = Date.now() - baselineStart;
      while (baselineDone.size < n && Date.now() < fireAt + ROUND_LIMIT_MS) await sleepMs(200);
      const baseline = summarise([...baselineDone.values()].map((t) => t - fireAt), n);

      // ----- ours: N problems whose deadline is one instant; lag until ProblemEscalated is stored
      const setupStart = Date.now();
      // Room to find every problem and start its workflow (eager start, or signal-with-start then loadClock) before the
      // deadline: scaled from how long plain starts took just now, so a busy machine gets more room.
      const deadline = Math.ceil((setupStart + 20_000 + Math.max(n * 15, 3 * baselineSetupMs)) / 1000) * 1000;
      const problemIds = Array.from({ length: n }, (_, i) => `bench-${offset + i}`);
      for (const problemId of problemIds) {
        await runCommand(
          store,
          findProblemCommand(problemId, formatInstant(deadline)),
          supervisor,
          formatInstant(Date.now()),
        );
      }
      const appendedMs = Date.now() - setupStart;
      const head = await store.headPosition();
      while ((reactor.checkpoint() ?? -1n) < head && Date.now() < deadline) await sleepMs(100);
      const deliveredMs = Date.now() - setupStart;
      const setupOverran = Date.now() >= deadline;

      const lags = new Map<string, number>();
      let from: bigint | undefined = head;
      const profiler = await startProfile();
      while (lags.size < n && Date.now() < deadline + ROUND_LIMIT_MS) {
        await sleepMs(250);
        for await (const e of store.readAll({
          ...(from !== undefined ? { fromPosition: from } : {}),
          filter: { types: ['ProblemEscalated'] },
        })) {
          from = e.position;
          if (e.streamId.startsWith('problem-bench-')) lags.set(e.streamId, Date.parse(e.metadata.recordedAt) - deadline);
        }
      }
      await profiler.stop(`escalation-${n}`);
      const ours = summarise([...lags.values()], n);
      // What one clock's history holds: its start, the steps before the deadline, the escalation.
      const history = await client.workflow.getHandle(rectificationWorkflowId(problemIds[0]!)).fetchHistory();
      const recorded = (history.events ?? []).map((e) => (proto.temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? '?').replace(/^EVENT_TYPE_/, ''));
      // Workflow tasks that sat on the worker's sticky queue past its schedule-to-start timeout and went back to the
      // task queue (each one more task for the server to write), per workflow, in a sample spread over the round.
      const timedOut = async (ids: string[]) => {
        const sample = ids.filter((_, i) => i % Math.max(1, Math.floor(ids.length / TIMEOUT_SAMPLE)) === 0);
        const counts = await Promise.all(
          sample.map(async (id) => ((await client.workflow.getHandle(id).fetchHistory()).events ?? []).filter((e) => e.eventType === taskTimedOut).length),
        );
        return Math.round((counts.reduce((a, b) => a + b, 0) / sample.length) * 100) / 100;
      };
      const taskTimeouts = {
        clocks: await timedOut(problemIds.map(rectificationWorkflowId)),
        baseline: await timedOut(Array.from({ length: n }, (_, i) => `bench-timer-${offset + i}`)),
      };
      rounds.push({
        n,
        escalation_lag_p50_ms: ours.lag_p50_ms,
        escalation_lag_p99_ms: ours.lag_p99_ms,
        escalation_lag_max_ms: ours.lag_max_ms,
        escalations_per_s: ours.per_s,
        escalations_completed: ours.completed,
        timer_baseline_per_s: baseline.per_s,
        timer_baseline_lag_p50_ms: baseline.lag_p50_ms,
        timer_baseline_lag_p99_ms: baseline.lag_p99_ms,
        timer_baseline_completed: baseline.completed,
        escalation_ratio: Math.round((ours.per_s / baseline.per_s) * 100) / 100,
        one_clock_history: recorded,
        workflow_task_timeouts_per_workflow: taskTimeouts,
        setup: {
          baseline_start_ms: baselineSetupMs,
          problems_appended_ms: appendedMs,
          signals_delivered_ms: deliveredMs,
          deadline_reached_before_delivery: setupOverran,
        },
      });
      offset += n;
    }
  } finally {
    await reactor.stop();
    await worker.stop();
    await connection.close();
    await clientConnection.close();
    redis?.disconnect();
    await checkpoints.close();
    await store.close();
    await temporal.stop();
    if (!isUnavailable(redisServer)) await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const first = rounds.find((r) => r.n === 2000) ?? rounds[0];
  const result = {
    bench: 'escalation',
    started_at: startedAt,
    machine: { cpus: os.cpus().length, memory_gib: Math.round(os.totalmem() / 2 ** 30), load_average_1m_at_start: loadAtStart },
    // Not `setup`: the first round's own `setup` (its timings), spread below, would replace it.
    conditions: {
      temporal: temporal.source === 'TEMPORAL_ADDRESS' ? `${temporal.address}, namespace ${temporal.namespace} (BENCH_TEMPORAL_ADDRESS)` : `${temporal.source} (in memory)`,
      event_store: `SQLite file (synchronous ${synchronous})`,
      notifier: redis ? 'Redis pub/sub' : 'log',
      deadlines: 'all N at the same instant',
      lag: 'ProblemEscalated recordedAt - deadline',
      baseline: 'N workflows: durable timer at one instant + one no-op activity, same worker',
      max_cached_workflows: process.env['BENCH_MAX_CACHED'] ?? 'SDK default',
      clock_start: process.env['BENCH_EAGER_START'] !== '0' ? 'eager start on the worker connection' : 'signal-with-start (BENCH_EAGER_START=0)',
    },
    ...(first ?? {}),
    target: { escalation_ratio_min: 1.0, escalation_lag_p99_ms_max: 10_000, at_n: 2000 },
    meets_target:
      first !== undefined &&
      first.escalation_ratio >= 1.0 &&
      first.escalation_lag_p99_ms !== null &&
      first.escalation_lag_p99_ms <= 10_000,
    rounds,
    p99_over_60s_at_n: rounds.find((r) => r.escalation_lag_p99_ms === null || r.escalation_lag_p99_ms > 60_000)?.n ?? null,
    load_average_1m_at_end: os.loadavg()[0],
    total_ms: Date.now() - t0,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
