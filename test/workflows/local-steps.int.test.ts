import { Worker } from '@temporalio/worker';
import { expect, it } from 'vitest';
import { rectificationWorkflowId } from '../../workflows/rectification.contract.js';
import { describeWithService } from '../setup/services.js';
import { useClockHarness } from './harness.js';
import { cadre, DAY, eventually, HOUR, readProblem, runCommand } from './world.js';

/**
 * What a clock step costs since the local-steps patch: the workflow task its timer wakes records the
 * step (a local activity: a marker, no activity task) and delivers the notification inline. The history
 * it leaves replays without a non-determinism error against the same code.
 */
describeWithService('redis', 'clock steps as local activities', (redisUrl) => {
  const h = useClockHarness(redisUrl);

  it('given a ladder to the top: no activity task per step, one workflow task per step, and the history replays', async () => {
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem('p-local', deadline);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'p-local' }, cadre, h.iso(h.t0 + HOUR));
    await h.until('p-local', (v) => v.acknowledged);
    await h.sleep(37 * DAY);
    await h.until('p-local', (v) => v.level === 3);

    const stored = (await readProblem(h.world.store, 'p-local')).filter((e) => e.metadata.actor.role === 'system');
    const steps = new Set(stored.map((e) => e.metadata.causationId)).size;
    expect(steps).toBe(5); // blue-0, blue-1, esc-1, esc-2, esc-3
    const escalations = stored.filter((e) => e.type === 'ProblemEscalated');
    await eventually(() => (escalations.every((e) => h.world.notifications.some((n) => n.eventId === e.metadata.eventId)) ? true : undefined));

    const handle = h.env.client.workflow.getHandle(rectificationWorkflowId('p-local'));
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    // Only the clock's first load is an activity; no step and no notification is.
    expect(scheduled).toEqual(['loadClock']);
    expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toHaveLength(steps);
    // From the first step's timer on: one workflow task per step, the one its timer woke.
    const firstStep = events.findIndex((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    const woken = events.slice(0, firstStep).findLastIndex((e) => e.timerFiredEventAttributes);
    const later = events.slice(woken);
    expect(later.filter((e) => e.timerFiredEventAttributes)).toHaveLength(steps);
    expect(later.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(steps);

    await Worker.runReplayHistory({ workflowBundle: h.bundle }, history, rectificationWorkflowId('p-local'));
  });
});
