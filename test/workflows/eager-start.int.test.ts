import { Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';

import { formatInstant } from '../../events/time.js';
import { createLogNotifier } from '../../infra/notifier/index.js';
import { temporalConnectionSettings } from '../../infra/temporal/connection.js';
import { createTemporalWorkflowEngine } from '../../infra/temporal/workflow-engine.js';
import { toClockDelivery, startReactor } from '../../services/reactor.js';
import { clockQuery, rectificationWorkflowId } from '../../workflows/rectification.contract.js';
import { searchAttributeKeys } from '../../workflows/search-attributes.js';
import { startWorker, type RunningWorker } from '../../workflows/worker.js';
import { describeWithService } from '../setup/services.js';
import { cadre, DAY, eventually, findProblemCommand, openEngineWorld, readProblem, runCommand, supervisor } from './world.js';

const iso = (ms: number) => formatInstant(ms, 'Asia/Shanghai');

/**
 * What a clock's start costs when the reactor shares the worker's connection (as `npm start` runs them):
 * a plain start of the ProblemFound, its first workflow task handed straight back to the worker (eager),
 * and that one task loads the clock (a local activity), sets the first timer and completes. On the dev
 * server, as the service runs it.
 */
describeWithService('temporal', 'a clock started eagerly by its ProblemFound', (address) => {
  const settings = temporalConnectionSettings({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: inject('temporalNamespace') });
  const logger = pino({ level: 'warn' });
  let world: Awaited<ReturnType<typeof openEngineWorld>>;
  let worker: RunningWorker;
  const taskQueue = `eager-${crypto.randomUUID()}`;

  beforeAll(async () => {
    world = await openEngineWorld(settings, 'eager');
    worker = await startWorker({
      connection: world.connection,
      namespace: settings.namespace,
      taskQueue,
      store: world.store,
      notifier: createLogNotifier({ logger }),
      logger,
      workflowBundle: world.bundle,
      stickyTimeoutMs: 30_000,
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await world?.close();
  });

  const findProblem = (problemId: string) =>
    runCommand(world.store, findProblemCommand(problemId, iso(Date.now() + 30 * DAY)), supervisor, iso(Date.now()));

  test('given a problem found, when the reactor delivers it, then one eager workflow task loads the clock and sets its timer: no activity task, no upsert, and the history replays', async () => {
    const engine = createTemporalWorkflowEngine({ client: world.client, taskQueue, eagerStart: true });
    const reactor = await startReactor({ store: world.store, workflows: engine, checkpoints: world.checkpoints, logger, subscriberId: `eager-${taskQueue}` });
    try {
      await findProblem('p-eager');
      const handle = world.client.workflow.getHandle(rectificationWorkflowId('p-eager'));
      const view = await eventually(async () => (await handle.query(clockQuery).catch(() => null)) ?? undefined);
      expect(view.next?.action).toBe('acknowledge_reminder');

      const events = (await handle.fetchHistory()).events ?? [];
      expect(events[0]?.workflowExecutionStartedEventAttributes?.eagerExecutionAccepted).toBe(true);
      expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(0);
      expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
      expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toHaveLength(1);
      expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(1);
      expect(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toHaveLength(0);
      // Visibility shows the clock from the start's own attributes.
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(searchAttributeKeys.colour)).toBe('none');

      await Worker.runReplayHistory({ workflowBundle: world.bundle }, { events }, rectificationWorkflowId('p-eager'));
    } finally {
      await reactor.stop();
    }
  });

  test('given a running clock and then a cleared one, when their ProblemFound is delivered again, then the running run takes nothing new and the cleared item gets no clock back', async () => {
    const engine = createTemporalWorkflowEngine({ client: world.client, taskQueue, eagerStart: true });
    await findProblem('p-again');
    const found = (await readProblem(world.store, 'p-again')).map(toClockDelivery);
    await engine.deliverToClock('p-again', found);
    const handle = world.client.workflow.getHandle(rectificationWorkflowId('p-again'));
    const first = await handle.describe();
    await eventually(async () => ((await handle.query(clockQuery).catch(() => null)) ? true : undefined));
    const length = ((await handle.fetchHistory()).events ?? []).length;

    // A redelivery while it runs: the same run, nothing added to its history.
    await engine.deliverToClock('p-again', found);
    expect((await handle.describe()).runId).toBe(first.runId);
    expect(((await handle.fetchHistory()).events ?? []).length).toBe(length);

    // Later events still reach it (signal-with-start), and clearing ends it.
    await runCommand(world.store, { type: 'acknowledgeProblem', problemId: 'p-again' }, cadre, iso(Date.now()));
    await runCommand(world.store, { type: 'submitRectification', problemId: 'p-again', summary: '已完成整改', evidence: [] }, cadre, iso(Date.now()));
    await runCommand(world.store, { type: 'clearProblem', problemId: 'p-again' }, supervisor, iso(Date.now()));
    const later = (await readProblem(world.store, 'p-again')).slice(1).map(toClockDelivery);
    await engine.deliverToClock('p-again', later);
    await expect(handle.result()).resolves.toEqual({ problemId: 'p-again', status: 'cleared', level: 0 });

    // The ProblemFound once more (a reactor restarted from an old checkpoint): the run it starts finds the
    // item cleared in its stream and stops at once, writing nothing.
    const before = (await readProblem(world.store, 'p-again')).length;
    await engine.deliverToClock('p-again', found);
    const again = world.client.workflow.getHandle(rectificationWorkflowId('p-again'));
    await expect(again.result()).resolves.toEqual({ problemId: 'p-again', status: 'cleared', level: 0 });
    expect((await again.describe()).runId).not.toBe(first.runId);
    expect((await readProblem(world.store, 'p-again')).length).toBe(before);
  });

  // WORKER_STICKY_TIMEOUT_MS: how long a task waits on the worker's sticky queue before any worker may take it.
  test('given a sticky timeout, then the worker asks the server for it', () => {
    expect(worker.worker.options.stickyQueueScheduleToStartTimeoutMs).toBe(30_000);
  });
});
