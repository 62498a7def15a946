/**
 * A namespace of its own for one bench run on a Temporal server that outlives it (BENCH_TEMPORAL_ADDRESS).
 * The benches' workflow ids are fixed (`probe-0`, …): in a namespace an earlier run used, a start finds that
 * run's clock going (USE_EXISTING) and starts none, so nothing the run measures would be its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { missingSearchAttributes, registerSearchAttributes } from '../infra/temporal/search-attributes.js';

/** Registers `bench-<time>` (retention one day) with Duban's search attributes and returns its name once the server serves it. */
export async function freshBenchNamespace(address: string, timeoutMs = 60_000): Promise<string> {
  const namespace = `bench-${Date.now()}`;
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    const deadline = Date.now() + timeoutMs;
    // The frontend learns of a new namespace, and then of its attributes, from caches refreshed every few seconds.
    for (;;) {
      try {
        await registerSearchAttributes(connection, namespace);
        if ((await missingSearchAttributes(connection, namespace)).length === 0) break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} at ${address} lacks Duban's search attributes after ${timeoutMs} ms`);
      await sleep(1_000);
    }
    return namespace;
  } finally {
    await connection.close();
  }
}
