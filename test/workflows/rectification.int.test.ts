import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { formatInstant } from '../../events/time.js';
import { createTimeSkippingEnv } from '../../infra/temporal/test-env.js';
import { startReactor, type Reactor } from '../../services/reactor.js';
import { clockQuery, rectificationWorkflowId } from '../../workflows/rectification.contract.js';
import { bundleWorkflows, startWorker, type RunningWorker } from '../../workflows/worker.js';
import { describeWithService } from '../setup/services.js';
import {
  cadre,
  clockRecords,
  DAY,
  eventually,
  HOUR,
  openWorld,
  readProblem,
  registerUnits,
  runCommand,
  supervisor,
  testPolicy,
  units,
  type World,
} from './world.js';

const { village, township, county, prefecture } = units;

describeWithService('redis', 'rectification workflow on the time-skipping server', (redisUrl) => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;
  let world: World;
  let worker: RunningWorker | undefined;
  let reactor: Reactor | undefined;
  let t0: number;
  let taskQueue: string;
  let n = 0;

  beforeAll(async () => {
    [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
  });
  afterAll(async () => {
    await env?.teardown();
  });

  beforeEach(async () => {
    world = await openWorld(redisUrl);
    taskQueue = `rectification-test-${++n}-${Date.now()}`;
    t0 = await env.currentTimeMs();
    await registerUnits(world.store, iso(t0));
    worker = await begin();
    reactor = await startReactor({
      store: world.store,
      temporal: env.client,
      taskQueue,
      checkpoints: world.checkpoints,
      logger: world.logger,
    });
  });
  afterEach(async () => {
    await reactor?.stop();
    await worker?.stop();
    await world.close();
  });

  const begin = () =>
    startWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      store: world.store,
      notifier: world.notifier,
      logger: world.logger,
      workflowBundle: bundle,
    });

  const iso = (ms: number) => formatInstant(ms, 'Asia/Shanghai');

  async function findProblem(problemId: string, deadlineMs: number) {
    await runCommand(
      world.store,
      {
        type: 'findProblem',
        problemId,
        targetUnitId: village.unitId,
        responsibleUnitId: village.unitId,
        category: 'housing',
        source: 'inspection',
        description: '危房改造未完成',
        severity: 'medium',
        deadline: iso(deadlineMs),
        policy: testPolicy,
      },
      supervisor,
      iso(t0),
    );
  }

  /** Waits (real time) until the workflow has applied the problem's stream up to its last clock event. */
  async function delivered(problemId: string, predicate: (view: NonNullable<Awaited<ReturnType<typeof query>>>) => boolean) {
    return eventually(async () => {
      const view = await query(problemId).catch(() => null);
      return view && predicate(view) ? view : undefined;
    });
  }
  const query = (problemId: string) =>
    env.client.workflow.getHandle(rectificationWorkflowId(problemId)).query(clockQuery);

  it('given a 30-day deadline, acknowledged: two blue reminders, then village → township → county → prefecture, then a repeat at the top', async () => {
    const deadline = t0 + 30 * DAY;
    await findProblem('p-ladder', deadline);
    await runCommand(world.store, { type: 'acknowledgeProblem', problemId: 'p-ladder' }, cadre, iso(t0 + HOUR));
    await delivered('p-ladder', (v) => v.acknowledged);

    const wall = Date.now();
    await env.sleep(42 * DAY);
    const wallMs = Date.now() - wall;

    const records = clockRecords(await readProblem(world.store, 'p-ladder'));
    expect(records).toEqual([
      {
        type: 'ReminderIssued',
        data: { kind: 'deadline_approaching', level: 0, recipients: [village.unitId] },
        at: deadline - 3 * DAY,
      },
      { type: 'WarningColourChanged', data: { colour: 'blue', reason: 'deadline approaching' }, at: deadline - 3 * DAY },
      {
        type: 'ReminderIssued',
        data: { kind: 'deadline_approaching', level: 0, recipients: [village.unitId] },
        at: deadline - 1 * DAY,
      },
      {
        type: 'ProblemEscalated',
        data: { level: 1, toUnitId: township.unitId, colour: 'red', reason: expect.any(String) },
        at: deadline,
      },
      {
        type: 'ProblemEscalated',
        data: { level: 2, toUnitId: county.unitId, colour: 'red', reason: expect.any(String) },
        at: deadline + 3 * DAY,
      },
      {
        type: 'ProblemEscalated',
        data: { level: 3, toUnitId: prefecture.unitId, colour: 'red', reason: expect.any(String) },
        at: deadline + 6 * DAY,
      },
      {
        type: 'ReminderIssued',
        data: { kind: 'overdue', level: 3, recipients: [prefecture.unitId, village.unitId] },
        at: deadline + 11 * DAY,
      },
    ]);
    expect(wallMs).toBeLessThan(30_000);

    const view = await query('p-ladder');
    expect(view).toMatchObject({ level: 3, colour: 'red', currentUnitId: prefecture.unitId, status: 'open' });
    expect(view?.next).toMatchObject({ action: 'overdue_reminder', at: iso(deadline + 16 * DAY) });

    // Every recorded step was also announced on Redis, once per event id at least.
    const escalated = (await readProblem(world.store, 'p-ladder')).filter((e) => e.type === 'ProblemEscalated');
    await eventually(() =>
      escalated.every((e) => world.notifications.some((m) => m.eventId === e.metadata.eventId)) ? true : undefined,
    );
    expect(world.notifications.filter((m) => m.kind === 'escalation').map((m) => m.recipients)).toEqual([
      [township.unitId],
      [county.unitId],
      [prefecture.unitId],
    ]);
  });
});
