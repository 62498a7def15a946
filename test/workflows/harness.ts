import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { formatInstant } from '../../events/time.js';
import { createTimeSkippingEnv } from '../../infra/temporal/test-env.js';
import { createTemporalWorkflowEngine } from '../../infra/temporal/workflow-engine.js';
import { installedTool } from '../../infra/tools/paths.js';
import { startReactor, type Reactor } from '../../services/reactor.js';
import { clockEventTypes, type ClockView } from '../../workflows/clock.js';
import { clockQuery, rectificationWorkflowId } from '../../workflows/rectification.contract.js';
import { bundleWorkflows, startWorker, type RunningWorker } from '../../workflows/worker.js';
import { eventually, findProblemCommand, openWorld, registerUnits, runCommand, supervisor, type World } from './world.js';

export const historiesDir = fileURLToPath(new URL('./histories/', import.meta.url));

/**
 * Hooks for a describe block: one time-skipping server and workflow bundle for the file; per test a
 * fresh world (SQLite store, Redis channel), a task queue of its own, a worker and a reactor.
 */
export function useClockHarness(redisUrl: string, options: { inProcessWorker?: boolean } = {}) {
  const h = {
    env: undefined as unknown as TestWorkflowEnvironment,
    bundle: undefined as unknown as WorkflowBundleWithSourceMap,
    world: undefined as unknown as World,
    worker: undefined as RunningWorker | undefined,
    reactor: undefined as Reactor | undefined,
    t0: 0,
    taskQueue: '',
    iso: (ms: number) => formatInstant(ms, 'Asia/Shanghai'),
    async startWorker() {
      h.worker = await startWorker({
        connection: h.env.nativeConnection,
        namespace: h.env.namespace ?? 'default',
        taskQueue: h.taskQueue,
        store: h.world.store,
        notifier: h.world.notifier,
        logger: h.world.logger,
        workflowBundle: h.bundle,
      });
      return h.worker;
    },
    async startReactor() {
      h.reactor = await startReactor({
        store: h.world.store,
        workflows: createTemporalWorkflowEngine({ client: h.env.client, taskQueue: h.taskQueue }),
        checkpoints: h.world.checkpoints,
        logger: h.world.logger,
      });
      return h.reactor;
    },
    /** Stops the reactor (events appended from now on wait in the store until `startReactor`). */
    async stopReactor() {
      const reactor = h.reactor;
      h.reactor = undefined;
      await reactor?.stop();
    },
    /** Current time of the time-skipping server. */
    now: () => h.env.currentTimeMs(),
    query: (problemId: string) => h.env.client.workflow.getHandle(rectificationWorkflowId(problemId)).query(clockQuery),
    /** Waits (real time) until the workflow's clock satisfies `predicate` (events were delivered). */
    async until(problemId: string, predicate: (view: ClockView) => boolean): Promise<ClockView> {
      return eventually(async () => {
        const view = await h.query(problemId).catch(() => null);
        return view && predicate(view) ? view : undefined;
      });
    },
    /**
     * Waits (real time) until the running reactor, if any, has handed every event that moves a clock to
     * Temporal, and no clock of this test has a workflow task or an activity in flight. Call it before the
     * server skips time: a delivery still on its way would land days of server time late, after steps it
     * should have moved or cancelled, and a timer that fires while its workflow task runs wedges the run
     * (the test server refuses the task's CancelTimer). A run ended with work in flight keeps the server's
     * clock locked, so every later sleep of the file takes real days.
     */
    async settled() {
      let last = -1n;
      for await (const e of h.world.store.readAll({ filter: { streamPrefixes: ['problem-'], types: clockEventTypes } })) last = e.position;
      const reactor = h.reactor;
      if (reactor) await eventually(() => ((reactor.checkpoint() ?? -1n) >= last ? true : undefined));
      for (const problemId of h.problems) {
        const handle = h.env.client.workflow.getHandle(rectificationWorkflowId(problemId));
        await eventually(async () => {
          const found = await Promise.all([handle.fetchHistory(), handle.describe()]).catch((err: unknown) => {
            if (err instanceof WorkflowNotFoundError) return undefined;
            throw err;
          });
          if (!found) return true;
          const [history, description] = found;
          const lastEvent = history.events?.at(-1);
          const task = lastEvent?.workflowTaskScheduledEventAttributes ?? lastEvent?.workflowTaskStartedEventAttributes;
          return task || (description.raw.pendingActivities?.length ?? 0) > 0 ? undefined : true;
        });
      }
    },
    /** Lets the server skip `ms` of its time, once the clocks have settled. */
    async sleep(ms: number) {
      await h.settled();
      await h.env.sleep(ms);
    },
    /** The workflow's result, asked for once the clocks have settled (a clear delivered has closed the run). */
    async completed(problemId: string) {
      await h.settled();
      return h.env.client.workflow.getHandle(rectificationWorkflowId(problemId)).result();
    },
    problems: [] as string[],
    /**
     * With RECORD_HISTORIES=1, writes the workflow's history to test/workflows/histories/<name>.json,
     * the fixtures the replay test checks every later version of the workflow code against.
     */
    async recordHistory(problemId: string, name: string) {
      if (process.env['RECORD_HISTORIES'] !== '1') return;
      // The CLI writes the proto JSON that historyFromJSON reads (the SDK's historyToJSON trips over
      // vitest's module loading).
      const cli = installedTool('temporal');
      if (!cli) throw new Error('the temporal CLI is not installed (npm run tools)');
      const out = execFileSync(cli, [
        'workflow', 'show', '--workflow-id', rectificationWorkflowId(problemId),
        '--address', h.env.address, '--namespace', h.env.namespace ?? 'default', '--output', 'json',
      ]);
      await writeFile(path.join(historiesDir, `${name}.json`), out);
    },
    /** Finds a problem at the server's current time, which it returns. */
    async findProblem(problemId: string, deadlineMs: number): Promise<number> {
      const now = await h.now();
      h.problems.push(problemId);
      await runCommand(
        h.world.store,
        findProblemCommand(problemId, h.iso(deadlineMs)),
        supervisor,
        h.iso(now),
      );
      return now;
    },
  };
  let n = 0;

  beforeAll(async () => {
    [h.env, h.bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
  });
  afterAll(async () => {
    await h.env?.teardown();
  });
  beforeEach(async () => {
    h.world = await openWorld(redisUrl);
    h.taskQueue = `rectification-test-${++n}-${Date.now()}`;
    h.t0 = await h.env.currentTimeMs();
    await registerUnits(h.world.store, h.iso(h.t0));
    if (options.inProcessWorker ?? true) await h.startWorker();
    await h.startReactor();
  });
  afterEach(async () => {
    // The reactor first: a delivery it makes after the terminations below would start a new run on this
    // test's task queue, whose first task nobody serves once the worker stops. Then no run may be ended
    // with work in flight (see `settled`).
    await h.stopReactor();
    await h.settled();
    // Open workflows of a finished test would keep timers on the shared server that nobody serves.
    for (const problemId of h.problems.splice(0)) {
      await h.env.client.workflow
        .getHandle(rectificationWorkflowId(problemId))
        .terminate('test over')
        .catch(() => undefined);
    }
    await h.worker?.stop();
    await h.world.close();
    h.worker = undefined;
  });
  return h;
}
