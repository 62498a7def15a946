import { fileURLToPath } from 'node:url';
import {
  bundleWorkflowCode,
  Worker,
  type NativeConnection,
  type WorkflowBundleOption,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Logger } from 'pino';
import type { EventStore } from '../services/ports/event-store.js';
import type { Notifier } from '../services/ports/notifier.js';
import { createActivities } from './activities.js';

export const DEFAULT_TASK_QUEUE = 'duban-rectification';

/**
 * How long a stopping worker lets activities in flight finish before it cancels them (the SDK's default
 * is 0: cancelled at once). Below the process's SHUTDOWN_TIMEOUT_MS default of 30 s, which also covers
 * HTTP draining first and the stores closing after.
 */
export const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;

/**
 * How long a workflow task may wait on this worker's sticky queue (the runs it holds in its cache) before the
 * server times it out and puts it back on the task queue, for any worker: the SDK's 10 s. It is a trade-off,
 * measured both ways (docs/workflows.md). When thousands of clocks fall due at once, a task that times out costs
 * the server two more history events and comes back with its whole history: at 60 s, bench:escalation (N = 2,000)
 * went from about 93 to 109–140 escalations a second. Under sustained load the timeout is what lets a clock's
 * timer past the backlog of its sticky queue: at 60 s, bench:soak's probes escalated at a median of 66 s (20 and
 * 30 of 40 within its wait) against 7.6–9.4 s (40 of 40) at 10 s. A worker that is gone is not waited for either
 * way: the server sends new tasks to the task queue once no poller has asked its sticky queue for 10 s.
 */
export const DEFAULT_STICKY_TIMEOUT_MS = 10_000;

/** The file webpack bundles for the workflow sandbox: every workflow type Duban runs. */
export const workflowsPath = fileURLToPath(new URL('./all.workflow.ts', import.meta.url));

export interface WorkerDeps {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  store: EventStore;
  notifier: Notifier;
  logger: Logger;
  /**
   * A prebuilt bundle (see `bundleWorkflows`), or `{ codePath }` of one written by `npm run build`;
   * bundling takes seconds, so production, tests and benches reuse one.
   */
  workflowBundle?: WorkflowBundleOption;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxCachedWorkflows?: number;
  /** After `stop()`, how long activities in flight may run on before they are cancelled (`DEFAULT_SHUTDOWN_GRACE_MS`). */
  shutdownGraceMs?: number;
  /** How long a task may wait on this worker's sticky queue before any worker may take it (`DEFAULT_STICKY_TIMEOUT_MS`). */
  stickyTimeoutMs?: number;
  /** More activities on the same worker (benchmarks register their baseline here). */
  extraActivities?: Record<string, (...args: never[]) => Promise<unknown>>;
}

export interface RunningWorker {
  /**
   * Stops polling for new tasks, lets activities in flight finish (cancelling those still running after
   * the grace time), reports their results, and resolves when the worker is down.
   */
  stop(): Promise<void>;
  readonly worker: Worker;
}

/**
 * Modules the workflow sandbox loads once and shares between the workflows of the worker's reused V8
 * context, instead of a copy per cached workflow. Only pure code whose module state is a memo of a pure
 * function (time zones' formatters and offsets, parsed durations, resolved deadlines): sharing it cannot
 * leak one workflow's state into another. The SDK freezes what they export.
 */
const sharedModules = ['./clock.ts', './search-attributes.ts', './periods.ts', './rectification.contract.ts'].map((file) =>
  fileURLToPath(new URL(file, import.meta.url)),
);

/** Bundles the workflow code once (webpack, a few seconds). */
export function bundleWorkflows(path: string = workflowsPath): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: path, logger: quietBundlerLogger, preloadModules: sharedModules });
}

// webpack's progress lines are noise in tests and benches; warnings and errors still show.
const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: object) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: object) => console.error(message, meta ?? ''),
  log: () => undefined,
};

const CLOCK_STEPS_IN_FLIGHT = 200;

/**
 * Starts a worker for the rectification and review workflows, with activities bound to the given
 * store and notifier. The worker runs until `stop()`; a crash of `run()` is logged and rethrown by stop.
 */
export async function startWorker(deps: WorkerDeps): Promise<RunningWorker> {
  const worker = await Worker.create({
    connection: deps.connection,
    namespace: deps.namespace ?? 'default',
    taskQueue: deps.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowBundle: deps.workflowBundle ?? (await bundleWorkflows()),
    activities: {
      ...createActivities({ store: deps.store, notifier: deps.notifier, logger: deps.logger }),
      ...deps.extraActivities,
    },
    ...(deps.maxConcurrentActivityTaskExecutions !== undefined
      ? { maxConcurrentActivityTaskExecutions: deps.maxConcurrentActivityTaskExecutions }
      : {}),
    // A clock's step holds its workflow task's slot while its local activity appends (and waits for the
    // group commit's fsync): with the SDK's 40 slots, 2,000 steps due at once went through 40 at a time.
    // 200 (and as many local activities) let more steps share each commit: bench:escalation, N = 2,000,
    // quiet: 76.0 → 105.3 escalations/s, lag p99 24.4 → 17.2 s (500 gave 91.2/s, no better).
    maxConcurrentWorkflowTaskExecutions: deps.maxConcurrentWorkflowTaskExecutions ?? CLOCK_STEPS_IN_FLIGHT,
    maxConcurrentLocalActivityExecutions: CLOCK_STEPS_IN_FLIGHT,
    ...(deps.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: deps.maxCachedWorkflows } : {}),
    shutdownGraceTime: deps.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    stickyQueueScheduleToStartTimeout: deps.stickyTimeoutMs ?? DEFAULT_STICKY_TIMEOUT_MS,
  });
  const running = worker.run().catch((err: unknown) => {
    deps.logger.error({ err }, 'temporal worker stopped with an error');
    throw err;
  });
  // Observed through stop(); the catch above already logged it.
  running.catch(() => undefined);
  deps.logger.info({ taskQueue: worker.options.taskQueue }, 'temporal worker started');
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
