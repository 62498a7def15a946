import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { dateIn, formatInstant } from '../../events/time.js';
import { createTemporalWorkflowEngine } from '../../infra/temporal/workflow-engine.js';
import {
  DAILY_REPORT_SCHEDULE_ID,
  ensureReviewSchedules,
  MONTHLY_REVIEW_SCHEDULE_ID,
} from '../../services/schedules.js';
import { bundleWorkflows, startWorker, type RunningWorker } from '../../workflows/worker.js';
import { describeWithService } from '../setup/services.js';
import { cadre, DAY, eventually, openWorld, registerUnits, runCommand, supervisor, testPolicy, units, type World } from './world.js';

const { village, township, county, prefecture } = units;

describeWithService('temporal', 'review schedules on the dev server', (temporalAddress) => {
  describeWithService('redis', '一月一研判 and 每日一报', (redisUrl) => {
    let world: World;
    let connection: NativeConnection;
    let clientConnection: Connection;
    let client: Client;
    let worker: RunningWorker;
    const taskQueue = `reviews-test-${Date.now()}`;

    beforeAll(async () => {
      world = await openWorld(redisUrl);
      connection = await NativeConnection.connect({ address: temporalAddress });
      clientConnection = await Connection.connect({ address: temporalAddress });
      client = new Client({ connection: clientConnection, namespace: inject('temporalNamespace') });
      worker = await startWorker({
        connection,
        namespace: inject('temporalNamespace'),
        taskQueue,
        store: world.store,
        notifier: world.notifier,
        logger: world.logger,
        workflowBundle: await bundleWorkflows(),
      });
      const now = Date.now();
      await registerUnits(world.store, formatInstant(now));
      const find = (problemId: string, unitId: string) =>
        runCommand(
          world.store,
          {
            type: 'findProblem',
            problemId,
            targetUnitId: unitId,
            responsibleUnitId: unitId,
            category: 'water',
            source: 'inspection',
            description: '饮水安全未达标',
            severity: 'high',
            deadline: formatInstant(now + 30 * DAY),
            policy: testPolicy,
          },
          supervisor,
          formatInstant(now),
        );
      await find('r-1', village.unitId);
      await find('r-2', village.unitId);
      await find('r-3', township.unitId);
      await runCommand(world.store, { type: 'acknowledgeProblem', problemId: 'r-1' }, cadre, formatInstant(now));
    });
    afterAll(async () => {
      for (const id of [MONTHLY_REVIEW_SCHEDULE_ID, DAILY_REPORT_SCHEDULE_ID]) {
        await client?.schedule.getHandle(id).delete().catch(() => undefined);
      }
      await worker?.stop();
      await connection?.close();
      await clientConnection?.close();
      await world?.close();
    });

    const compiled = async (type: string, unitId: string) => {
      const events = await world.store.readStream(`review-${unitId}`).catch(() => []);
      return events.filter((e) => e.type === type);
    };

    it('creates both schedules in Asia/Shanghai, and creating them again updates instead of failing', async () => {
      const deps = { workflows: createTemporalWorkflowEngine({ client, taskQueue }), logger: world.logger };
      expect(await ensureReviewSchedules(deps)).toEqual({ scheduleIds: [MONTHLY_REVIEW_SCHEDULE_ID, DAILY_REPORT_SCHEDULE_ID] });
      await ensureReviewSchedules({ ...deps, dailyAt: { hour: 17, minute: 30 } });

      const daily = await client.schedule.getHandle(DAILY_REPORT_SCHEDULE_ID).describe();
      expect(daily.spec.timezone).toBe('Asia/Shanghai');
      expect(daily.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 17, end: 17, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] });
      const monthly = await client.schedule.getHandle(MONTHLY_REVIEW_SCHEDULE_ID).describe();
      expect(monthly.spec.calendars?.[0]).toMatchObject({ dayOfMonth: [{ start: 1, end: 1, step: 1 }] });
      expect(monthly.action).toMatchObject({ workflowType: 'compileReviewsWorkflow', taskQueue });
    });

    it('given units with open items, when the daily report schedule fires twice: one DailyReportCompiled per unit for today, and the units are notified', async () => {
      const handle = client.schedule.getHandle(DAILY_REPORT_SCHEDULE_ID);
      const runs = async () => (await handle.describe()).info.recentActions;
      await handle.trigger();
      const first = await eventually(async () => ((await runs()).length >= 1 ? (await runs())[0] : undefined));
      await client.workflow.getHandle(first!.action.workflow.workflowId).result();
      await handle.trigger();
      const second = await eventually(async () => ((await runs()).length >= 2 ? (await runs())[1] : undefined));
      await client.workflow.getHandle(second!.action.workflow.workflowId).result();

      const today = dateIn(formatInstant(Date.now()));
      const villageReports = await compiled('DailyReportCompiled', village.unitId);
      expect(villageReports.map((e) => e.data)).toEqual([
        {
          day: today,
          unitId: village.unitId,
          figures: expect.objectContaining({ problemsOpen: 2, problemsUnacknowledged: 1, problemsFoundInPeriod: 2, problemsOverdue: 0 }),
        },
      ]);
      // A unit's review counts the problems of its subtree (issue 9): the township its own and its village's.
      for (const unitId of [township.unitId, county.unitId, prefecture.unitId]) {
        expect((await compiled('DailyReportCompiled', unitId)).map((e) => e.data)).toEqual([
          { day: today, unitId, figures: expect.objectContaining({ problemsOpen: 3, problemsUnacknowledged: 2 }) },
        ]);
      }
      await eventually(() =>
        world.notifications.filter((n) => n.kind === 'daily_report').length >= 4 ? true : undefined,
      );
      expect(new Set(world.notifications.filter((n) => n.kind === 'daily_report').flatMap((n) => n.recipients))).toEqual(
        new Set([village.unitId, township.unitId, county.unitId, prefecture.unitId]),
      );
    });

    it('given the monthly review run twice for one month: one MonthlyReviewCompiled per unit', async () => {
      const month = dateIn(formatInstant(Date.now())).slice(0, 7);
      for (let i = 0; i < 2; i++) {
        await client.workflow.execute('compileReviewsWorkflow', {
          taskQueue,
          workflowId: `monthly-review-test-${Date.now()}-${i}`,
          args: [{ kind: 'monthly_review', timeZone: 'Asia/Shanghai', period: month }],
        });
      }
      expect((await compiled('MonthlyReviewCompiled', village.unitId)).map((e) => e.data)).toEqual([
        { month, unitId: village.unitId, figures: expect.objectContaining({ problemsOpen: 2, measuresTotal: 0 }) },
      ]);
      expect(await compiled('MonthlyReviewCompiled', township.unitId)).toHaveLength(1);
    });
  });
});
