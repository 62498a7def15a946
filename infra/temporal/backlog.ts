import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';

const { TaskQueueType } = proto.temporal.api.enums.v1;
/** gRPC's UNIMPLEMENTED: a server without task-queue statistics (the SDK's time-skipping test server). */
const UNIMPLEMENTED = 12;

export interface BacklogGateOptions {
  /** Longest a workflow task may have waited on the task queue before deliveries wait (ms). */
  maxAgeMs: number;
  /** Least time between two questions to the server while deliveries come (ms; default 200). */
  checkEveryMs?: number;
}

const durationMs = (duration: proto.google.protobuf.IDuration | null | undefined) =>
  Number(duration?.seconds?.toString() ?? 0) * 1000 + (duration?.nanos ?? 0) / 1e6;

/**
 * The workflow-engine port's `room()` on Temporal: resolves while the oldest workflow task waiting on
 * `taskQueue` has waited at most `maxAgeMs` (the server's approximate backlog age, asked at most once per
 * `checkEveryMs`, and only while deliveries come). A task waits there when every worker is busy: an eager
 * start that found no free slot, or a task a worker's sticky queue did not take in time. Temporal accepts
 * starts and signals far faster than the workers run them, and a worker serves its queues in order, so
 * without this a campaign's thousands of new problems queue for minutes in front of clocks falling due.
 *
 * A server that cannot say (no statistics) is never waited for; one that does not answer is not waited for
 * either (the delivery itself then fails, and the reactor retries it).
 */
export function backlogGate(client: Client, taskQueue: string, options: BacklogGateOptions): (stop?: AbortSignal) => Promise<void> {
  const checkEveryMs = options.checkEveryMs ?? 200;
  let checkedAt = -Infinity;
  let behind = false;
  let unsupported = false;
  let checking: Promise<void> | undefined;
  const check = async () => {
    try {
      const { stats } = await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        reportStats: true,
      });
      behind = durationMs(stats?.approximateBacklogAge) > options.maxAgeMs;
    } catch (err) {
      behind = false;
      unsupported = (err as { code?: number }).code === UNIMPLEMENTED;
    } finally {
      checkedAt = Date.now();
    }
  };
  return async function room(stop) {
    for (;;) {
      if (unsupported || stop?.aborted) return;
      if (Date.now() - checkedAt >= checkEveryMs) await (checking ??= check().finally(() => (checking = undefined)));
      if (!behind) return;
      await sleep(checkedAt + checkEveryMs - Date.now());
    }
  };
}
