import { proxyActivities, sleep } from '@temporalio/workflow';

// The bench's workflow bundle: Duban's workflows plus the baseline, so both run on the same worker.
export { rectificationWorkflow } from '../workflows/rectification.workflow.js';

const { benchNoop } = proxyActivities<{ benchNoop(id: number): Promise<void> }>({
  startToCloseTimeout: '1 minute',
});

/** The baseline: a durable timer that fires at `fireAt`, then one no-op activity. */
export async function timerBaselineWorkflow(input: { id: number; fireAt: number }): Promise<void> {
  const wait = input.fireAt - Date.now();
  if (wait > 0) await sleep(wait);
  await benchNoop(input.id);
}
