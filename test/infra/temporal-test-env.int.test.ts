import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createTimeSkippingEnv } from '../../infra/temporal/test-env.js';

// The Java test server closes a connection that pings more often than every 5 minutes, or at all without
// calls, taking the calls on it; the SDK's default client pings every 30 s, and the killed-worker resilience
// test hung when a slow CI run let two pings happen (client log: "rejected by server because of excess pings").
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
}, 180_000);
afterAll(async () => {
  await env?.teardown();
});

it('given the time-skipping environment, its client channel pings no more than the test server accepts', async () => {
  const args = env.connection.options.channelArgs;
  expect(args['grpc.keepalive_permit_without_calls']).toBe(0);
  expect(Number(args['grpc.keepalive_time_ms'])).toBeGreaterThanOrEqual(300_000);
  await expect(env.client.workflowService.getSystemInfo({})).resolves.toBeDefined();
});
