/**
 * A namespace of its own for one bench run on a Temporal server that outlives it (BENCH_TEMPORAL_ADDRESS).
 * The benches' workflow ids are fixed (`probe-0`, …): in a namespace an earlier run used, a start finds that
 * run's clock going (USE_EXISTING) and starts none, so nothing the run measures would be its own.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { missingSearchAttributes, registerSearchAttributes } from '../infra/temporal/search-attributes.js';
import { eventually } from '../test/workflows/world.js';

/** Registers `bench-<time>` (retention one day) with Duban's search attributes and returns its name once the server serves it. */
export async function freshBenchNamespace(address: string, timeoutMs = 60_000): Promise<string> {
  const namespace = `bench-${Date.now()}`;
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    // The frontend learns of a new namespace, and then of its attributes, from caches refreshed every few seconds:
    // until then both calls may fail or come back short.
    const served = () =>
      registerSearchAttributes(connection, namespace)
        .then(() => missingSearchAttributes(connection, namespace))
        .then((missing) => (missing.length === 0 ? true : undefined), () => undefined);
    await eventually(served, timeoutMs).catch(() => {
      throw new Error(`namespace ${namespace} at ${address} lacks Duban's search attributes after ${timeoutMs} ms`);
    });
    return namespace;
  } finally {
    await connection.close();
  }
}
