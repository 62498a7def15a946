import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { createTimeSkippingEnv } from '../../infra/temporal/test-env.js';
import { sleepsThirtyDays } from './fixtures/proof.workflow.js';

const workflowsPath = fileURLToPath(new URL('./fixtures/proof.workflow.ts', import.meta.url));
const THIRTY_DAYS_MS = 30 * 24 * 60 * 60 * 1000;

describe('the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  test('given a workflow that sleeps thirty days, when it runs, then it finishes in seconds of wall time', async () => {
    const taskQueue = `proof-${crypto.randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowsPath,
    });

    const wallStart = performance.now();
    const outcome = await worker.runUntil(
      env.client.workflow.execute(sleepsThirtyDays, { taskQueue, workflowId: taskQueue }),
    );
    const wallMs = performance.now() - wallStart;

    expect(outcome.finishedAt - outcome.startedAt).toBeGreaterThanOrEqual(THIRTY_DAYS_MS);
    expect(wallMs).toBeLessThan(20_000);
  });
});
