import { TestWorkflowEnvironment } from '@temporalio/testing';

import { installedTool } from '../tools/paths.js';

/**
 * A time-skipping Temporal environment for workflow tests: Temporal's Java test server from .tools/
 * (infra/tools/setup.sh), else the one the SDK downloads. Call `teardown()` when done.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = installedTool('temporal-test-server');
  const start = (): Promise<TestWorkflowEnvironment> =>
    TestWorkflowEnvironment.createTimeSkipping(
      path ? { server: { executable: { type: 'existing-path', path } } } : {},
    );
  try {
    return await start();
  } catch (error) {
    // The SDK gives the JVM about five seconds to answer; on a busy two-core machine one retry saves a run.
    if (!path) throw error;
    return start();
  }
}
