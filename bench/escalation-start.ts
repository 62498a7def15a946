/**
 * `npx tsx bench/escalation-start.ts`: what one clock's start costs on the dev server as `npm start` runs it
 * (SQLite file, WAL, synchronous=full). N problems are found in a SQLite event store, then their ProblemFound
 * events are delivered through the workflow-engine port, BENCH_CONCURRENCY at a time, in rounds of two kinds
 * one after the other on the same server and worker:
 * - `signal_with_start`: the client on its own connection, signal-with-start, the clock loaded by an activity;
 * - `eager_start`: the client on the worker's NativeConnection, a plain eager start, the clock loaded by a
 *   local activity in the first workflow task.
 * A round ends when every clock is loaded and its first task completed (the worker's loadClock calls, then the
 * task queue drained). Prints one JSON object: starts/s (accepted by the server) and clocks/s (loaded).
 *
 *   BENCH_N=600 BENCH_CONCURRENCY=256 npx tsx bench/escalation-start.ts
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { pino } from 'pino';
import { formatInstant } from '../events/time.js';
import { createLogNotifier } from '../infra/notifier/log.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { provideTemporal } from '../infra/temporal/provider.js';
import { createTemporalWorkflowEngine } from '../infra/temporal/workflow-engine.js';
import { isUnavailable } from '../infra/tools/service.js';
import { toClockDelivery } from '../services/reactor.js';
import type { WorkflowEngine } from '../services/ports/workflow-engine.js';
import { createActivities } from '../workflows/activities.js';
import { rectificationWorkflowId } from '../workflows/rectification.contract.js';
import { bundleWorkflows, startWorker } from '../workflows/worker.js';
import { findProblemCommand, readProblem, registerUnits, runCommand, supervisor } from '../test/workflows/world.js';

const N = Number(process.env['BENCH_N'] ?? 600);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 256);
const ROUNDS = (process.env['BENCH_ROUNDS'] ?? 'signal_with_start,eager_start').split(',');
const round1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Runtime.install({ logger: new DefaultLogger('WARN') });
const logger = pino({ level: 'warn' });
const dir = await mkdtemp(path.join(os.tmpdir(), 'duban-bench-start-'));
const dynamicConfig = JSON.parse(process.env['BENCH_DYNAMIC_CONFIG'] ?? '{}') as Record<string, string | number | boolean>;
const temporal = await provideTemporal({
  useDocker: false,
  dbFilename: path.join(dir, 'temporal.db'),
  logFile: path.join(dir, 'temporal.log'),
  dynamicConfig,
});
if (isUnavailable(temporal)) throw new Error(`no Temporal server: ${temporal.unavailable}`);
const store = openSqliteEventStore({ path: path.join(dir, 'events.db') });
await registerUnits(store, formatInstant(Date.now()));
const native = await NativeConnection.connect({ address: temporal.address });
const plain = await Connection.connect({ address: temporal.address });
const taskQueue = 'bench-start';
const real = createActivities({ store, notifier: createLogNotifier({ logger }), logger });
let loaded = 0;
const worker = await startWorker({
  connection: native,
  namespace: temporal.namespace,
  taskQueue,
  store,
  notifier: createLogNotifier({ logger }),
  logger,
  workflowBundle: await bundleWorkflows(),
  maxCachedWorkflows: Number(process.env['BENCH_MAX_CACHED'] ?? 10_000),
  extraActivities: {
    async loadClock(input: { problemId: string }) {
      const clock = await real.loadClock(input);
      loaded++;
      return clock;
    },
  },
});
const engines: Record<string, WorkflowEngine> = {
  signal_with_start: createTemporalWorkflowEngine({ client: new Client({ connection: plain, namespace: temporal.namespace }), taskQueue }),
  eager_start: createTemporalWorkflowEngine({
    client: new Client({ connection: native, namespace: temporal.namespace }),
    taskQueue,
    eagerStart: true,
  }),
};
const probe = new Client({ connection: plain, namespace: temporal.namespace });

const loadAtStart = os.loadavg();
const mb = (bytes: number) => round1(bytes / 2 ** 20);
const rssBefore = mb(process.memoryUsage().rss);
const rounds = [];
for (const [r, kind] of ROUNDS.entries()) {
  const engine = engines[kind];
  if (!engine) throw new Error(`unknown round ${kind}`);
  const ids = Array.from({ length: N }, (_, i) => `start-${r}-${i}`);
  for (const problemId of ids) {
    await runCommand(
      store,
      findProblemCommand(problemId, formatInstant(Date.now() + 30 * 86_400_000)),
      supervisor,
      formatInstant(Date.now()),
    );
  }
  const deliveries = await Promise.all(ids.map(async (id) => (await readProblem(store, id)).map(toClockDelivery)));
  loaded = 0;
  const t0 = Date.now();
  if (process.env['BENCH_MARKS']) console.error(`mark ${kind} start ${t0 / 1000}`);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const i = next++;
        await engine.deliverToClock(ids[i] as string, deliveries[i] ?? []);
      }
    }),
  );
  const acceptedMs = Date.now() - t0;
  while (loaded < N) await sleep(50);
  // The task after the load (signal-with-start) or the first one itself (eager) completes: the last one's history.
  const last = probe.workflow.getHandle(rectificationWorkflowId(ids.at(-1) as string));
  while (!((await last.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes)) await sleep(50);
  const loadedMs = Date.now() - t0;
  if (process.env['BENCH_MARKS']) console.error(`mark ${kind} end ${Date.now() / 1000}`);
  rounds.push({ kind, n: N, starts_per_s: round1((N / acceptedMs) * 1000), clocks_loaded_per_s: round1((N / loadedMs) * 1000), accepted_ms: acceptedMs, loaded_ms: loadedMs, rss_mb_after: mb(process.memoryUsage().rss), heap_mb_after: mb(process.memoryUsage().heapUsed), load_average_1m: round1(os.loadavg()[0] ?? 0) });
}
await worker.stop();
await native.close();
await plain.close();
await store.close();
await temporal.stop();
await rm(dir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({ bench: 'escalation-start', server: `${temporal.source} (SQLite file, WAL, synchronous=full)`, concurrency: CONCURRENCY, dynamic_config: dynamicConfig, rss_mb_before: rssBefore, load_average_at_start: loadAtStart.map(round1), rounds })}\n`,
);
process.exit(0);
