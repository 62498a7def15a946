import net from 'node:net';

import { type ExistingServerConnectionOptions, TestWorkflowEnvironment } from '@temporalio/testing';

import { installedTool } from '../tools/paths.js';
import { freePort, startProcess, waitUntilReady } from '../tools/process.js';
import { registerSearchAttributes } from './search-attributes.js';

/**
 * A time-skipping Temporal environment for workflow tests, with Duban's search attributes registered:
 * Temporal's Java test server from .tools/ (infra/tools/setup.sh), else the one the SDK downloads. Call
 * `teardown()` when done.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await startTimeSkippingEnv();
  try {
    await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  } catch (error) {
    await env.teardown();
    throw error;
  }
  return env;
}

async function startTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = installedTool('temporal-test-server');
  if (!path) return TestWorkflowEnvironment.createTimeSkipping();
  // The SDK's own launcher gives the JVM five seconds to answer (a constant in its core), which a busy
  // two-core machine does not always meet; so the project starts the server itself, waits as long as a
  // cold JVM needs, and hands the SDK its address, as `createTimeSkipping` does with the one it starts.
  const port = await freePort();
  const server = startProcess(path, [String(port)]);
  try {
    await waitUntilReady('temporal-test-server', server, () => acceptsConnections(port), 120_000);
    const env = await TestWorkflowEnvironment['create']({
      server: { type: 'existing' },
      address: `127.0.0.1:${port}`,
      supportsTimeSkipping: true,
      connectionOptions: testServerChannel,
    });
    const teardown = env.teardown.bind(env);
    env.teardown = async () => {
      await teardown();
      await server.stop();
    };
    return env;
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * The client's gRPC channel to the Java test server. The SDK's default pings every 30 s even without calls,
 * which the server (grpc-java: a ping at most every 5 min, none without calls) answers after two strikes by
 * closing the connection with the calls on it, and a test then hangs in a wait that never returns. A local
 * server needs no keepalive at all. `create` hands these options to the client connection as they are (the
 * native connection ignores them); its type only names apiKey, metadata and tls, hence the cast.
 */
const testServerChannel = {
  channelArgs: { 'grpc.keepalive_permit_without_calls': 0, 'grpc.keepalive_time_ms': 600_000 },
} as ExistingServerConnectionOptions;

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => socket.end(() => resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
