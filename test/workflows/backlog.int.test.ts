import { WorkflowNotFoundError } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';

import { formatInstant } from '../../events/time.js';
import { createLogNotifier } from '../../infra/notifier/index.js';
import { temporalConnectionSettings } from '../../infra/temporal/connection.js';
import { createTemporalWorkflowEngine } from '../../infra/temporal/workflow-engine.js';
import { startReactor } from '../../services/reactor.js';
import { clockQuery, rectificationWorkflowId } from '../../workflows/rectification.contract.js';
import { startWorker, type RunningWorker } from '../../workflows/worker.js';
import { describeWithService } from '../setup/services.js';
import { DAY, eventually, findProblemCommand, openEngineWorld, readProblem, runCommand, supervisor } from './world.js';

const iso = (ms: number) => formatInstant(ms, 'Asia/Shanghai');

/**
 * The reactor does not hand Temporal more than the clocks' workers take: while a workflow task has waited on
 * the task queue longer than the engine's limit, new deliveries wait in the event store (after the
 * checkpoint), so a flood of new problems does not queue in front of the clocks that fall due.
 */
describeWithService('temporal', 'deliveries held while the clocks\u2019 task queue is behind', (address) => {
  const settings = temporalConnectionSettings({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: inject('temporalNamespace') });
  const logger = pino({ level: 'warn' });
  let world: Awaited<ReturnType<typeof openEngineWorld>>;
  let worker: RunningWorker | undefined;
  const taskQueue = `backlog-${crypto.randomUUID()}`;

  beforeAll(async () => {
    world = await openEngineWorld(settings, 'backlog');
  });
  afterAll(async () => {
    await worker?.stop();
    await world?.close();
  });

  const findProblem = (problemId: string) => runCommand(world.store, findProblemCommand(problemId, iso(Date.now() + 30 * DAY)), supervisor, iso(Date.now()));
  const positionOf = async (problemId: string) => (await readProblem(world.store, problemId))[0]!.position;
  const clockOf = (problemId: string) => world.client.workflow.getHandle(rectificationWorkflowId(problemId));

  test('given a workflow task waiting longer than the limit, when a problem is found, then the reactor holds it until a worker takes the backlog, and stopping meanwhile leaves it after the checkpoint', async () => {
    const engine = createTemporalWorkflowEngine({ client: world.client, taskQueue, maxBacklogAgeMs: 500 });
    const subscriberId = `backlog-${taskQueue}`;
    const first = await startReactor({ store: world.store, workflows: engine, checkpoints: world.checkpoints, logger, subscriberId });

    // No worker polls the queue yet: the first clock's workflow task waits there.
    await findProblem('p-early');
    const early = await positionOf('p-early');
    await eventually(async () => (first.checkpoint() === early ? true : undefined));
    await sleep(1_000);

    await findProblem('p-held');
    await sleep(1_500);
    expect(first.checkpoint()).toBe(early);
    await expect(clockOf('p-held').describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    // Stopping does not wait for the backlog: the held problem stays after the checkpoint.
    const stopped = Date.now();
    await first.stop();
    expect(Date.now() - stopped).toBeLessThan(5_000);
    expect(await world.checkpoints.load(subscriberId)).toBe(early);

    // A worker takes the backlog; a reactor started again delivers the held problem.
    worker = await startWorker({ connection: world.connection, namespace: settings.namespace, taskQueue, store: world.store, notifier: createLogNotifier({ logger }), logger, workflowBundle: world.bundle });
    const again = await startReactor({ store: world.store, workflows: engine, checkpoints: world.checkpoints, logger, subscriberId });
    try {
      const held = await positionOf('p-held');
      await eventually(async () => (again.checkpoint() === held ? true : undefined), 20_000);
      for (const problemId of ['p-early', 'p-held']) {
        const view = await eventually(async () => (await clockOf(problemId).query(clockQuery).catch(() => null)) ?? undefined);
        expect(view.next?.action).toBe('acknowledge_reminder');
      }
    } finally {
      await again.stop();
    }
  });
});
