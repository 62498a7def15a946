import { Client, Connection } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';

import { createLogNotifier } from '../../infra/notifier/index.js';
import { openSqliteEventStore } from '../../infra/sqlite/event-store.js';
import { temporalConnectionSettings } from '../../infra/temporal/connection.js';
import type { EventStore } from '../../services/ports/event-store.js';
import { bundleWorkflows, startWorker, type RunningWorker } from '../../workflows/worker.js';
import type { ProofActivities } from '../infra/fixtures/proof.workflow.js';
import { describeWithService } from '../setup/services.js';
import { eventually } from './world.js';

const fixtureWorkflows = fileURLToPath(new URL('../infra/fixtures/proof.workflow.ts', import.meta.url));

/** The kinds of a workflow's history events, in order (`activityTaskCompleted`, …). */
async function historyKinds(client: Client, workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((event) =>
    Object.entries(event)
      .filter(([key, value]) => key.endsWith('EventAttributes') && value != null)
      .map(([key]) => key.replace(/EventAttributes$/, '')),
  );
}

describeWithService('temporal', 'a stopping worker drains: no new work taken, activities in flight finish and are recorded', (address) => {
  // Connected as services/main.ts connects: from the standard variables, one namespace for client and worker.
  const settings = temporalConnectionSettings({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: inject('temporalNamespace') });
  const logger = pino({ level: 'warn' });
  let bundle: WorkflowBundleWithSourceMap;
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let client: Client;
  let store: EventStore;

  beforeAll(async () => {
    [bundle, nativeConnection, connection] = await Promise.all([
      bundleWorkflows(fixtureWorkflows),
      NativeConnection.connect(settings.worker),
      Connection.connect(settings.client),
    ]);
    client = new Client({ connection, namespace: settings.namespace });
    store = openSqliteEventStore({ path: path.join(mkdtempSync(path.join(tmpdir(), 'duban-shutdown-')), 'events.db') });
  });
  afterAll(async () => {
    await store?.close();
    await connection?.close();
    await nativeConnection?.close();
  });

  test('given an activity in flight that honours cancellation, when the worker is stopped and the activity then ends, then it completed, its result is in the history, and work started meanwhile waits for the next worker', async () => {
    const taskQueue = `shutdown-${crypto.randomUUID()}`;
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // Like a webhook call bound to the activity's signal: a cancelled attempt gives up at once.
    const recordStep: ProofActivities['recordStep'] = async (stepId) => {
      started();
      const signal = Context.current().cancellationSignal;
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) reject(signal.reason as Error);
        signal.addEventListener('abort', () => reject(signal.reason as Error));
        void released.then(resolve);
      });
      return `recorded ${stepId}`;
    };
    const start = (): Promise<RunningWorker> =>
      startWorker({
        connection: nativeConnection,
        namespace: settings.namespace,
        taskQueue,
        store,
        notifier: createLogNotifier({ logger }),
        logger,
        workflowBundle: bundle,
        extraActivities: { recordStep },
      });

    const first = await start();
    const inFlightId = `${taskQueue}-in-flight`;
    const handle = await client.workflow.start('runsOneStep', { taskQueue, workflowId: inFlightId, args: ['step-1'] });
    await inFlight;

    const stopped = first.stop();
    // Shutdown under way: the worker polls no more.
    await eventually(() => (first.worker.getState() === 'RUNNING' ? undefined : true));
    const laterId = `${taskQueue}-later`;
    await client.workflow.start('runsOneStep', { taskQueue, workflowId: laterId, args: ['step-2'] });
    release();
    await stopped;
    expect(first.worker.getState()).toBe('STOPPED');

    const kinds = await historyKinds(client, inFlightId);
    expect(kinds).toContain('activityTaskCompleted');
    expect(kinds).not.toContain('activityTaskFailed');
    expect(kinds).not.toContain('activityTaskCanceled');
    // Started while the first worker drained: not one workflow task run by it. The server may still hand the
    // task to a poll the worker has already given up, before that poll's cancellation reaches it (2 runs in 6
    // on a loaded machine): that task is not run either, shows as started, and goes to the next worker once
    // its workflow-task timeout passes. Servers with eager poll cancellation on shutdown close that window.
    expect(await historyKinds(client, laterId)).not.toContain('workflowTaskCompleted');

    const second = await start();
    try {
      await expect(handle.result()).resolves.toBe('recorded step-1');
      await expect(client.workflow.getHandle(laterId).result()).resolves.toBe('recorded step-2');
    } finally {
      await second.stop();
    }
  });
});
