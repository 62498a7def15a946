import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';

import { describeWithService } from '../setup/services.js';
import { approveSignal } from './fixtures/proof-signals.js';
import { waitsForApprovalThenTimer } from './fixtures/proof.workflow.js';

const workflowsPath = fileURLToPath(new URL('./fixtures/proof.workflow.ts', import.meta.url));

describeWithService('temporal', 'the Temporal dev server the test run provides', (address) => {
  const namespace = inject('temporalNamespace');
  let workerConnection: NativeConnection;
  let clientConnection: Connection;
  let client: Client;

  beforeAll(async () => {
    workerConnection = await NativeConnection.connect({ address });
    clientConnection = await Connection.connect({ address });
    client = new Client({ connection: clientConnection, namespace });
  });
  afterAll(async () => {
    await clientConnection?.close();
    await workerConnection?.close();
  });

  test('given a workflow waiting for a signal, when it is signalled, then its timer runs and it completes', async () => {
    const taskQueue = `proof-${crypto.randomUUID()}`;
    const worker = await Worker.create({ connection: workerConnection, namespace, taskQueue, workflowsPath });
    const timerMs = 1_500;

    const { outcome, history } = await worker.runUntil(async () => {
      const handle = await client.workflow.start(waitsForApprovalThenTimer, {
        taskQueue,
        workflowId: taskQueue,
        args: [timerMs],
      });
      // Still waiting: the condition holds the workflow until the signal arrives.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await handle.describe()).status.name).toBe('RUNNING');

      await handle.signal(approveSignal, 'office-lead');
      const outcome = await handle.result();
      return { outcome, history: await handle.fetchHistory() };
    });

    expect(outcome.approvedBy).toBe('office-lead');
    expect(outcome.timerTookMs).toBeGreaterThanOrEqual(timerMs);
    // The server's own record: the signal, then a timer it started and fired, then completion.
    const kinds = (history.events ?? []).flatMap((event) =>
      Object.entries(event)
        .filter(([key, value]) => key.endsWith('EventAttributes') && value != null)
        .map(([key]) => key.replace(/EventAttributes$/, '')),
    );
    const order = ['workflowExecutionSignaled', 'timerStarted', 'timerFired', 'workflowExecutionCompleted'];
    expect(order.map((kind) => kinds.indexOf(kind))).toEqual(
      order.map((kind) => kinds.indexOf(kind)).sort((a, b) => a - b),
    );
    expect(kinds).toEqual(expect.arrayContaining(order));
  });
});
