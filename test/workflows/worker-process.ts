import { readFile } from 'node:fs/promises';
import { NativeConnection } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createRedisNotifier } from '../../infra/notifier/redis.js';
import { openSqliteEventStore } from '../../infra/sqlite/event-store.js';
import { startWorker } from '../../workflows/worker.js';

/**
 * A worker in a process of its own, so a test can kill it with SIGKILL mid-ladder (no graceful
 * shutdown, no activity completion reported). Configuration comes from the environment.
 */
const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const bundle = JSON.parse(await readFile(env('WORKFLOW_BUNDLE'), 'utf8')) as { code: string; sourceMap: string };
const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
const redis = new Redis(env('REDIS_URL'));
await startWorker({
  connection,
  taskQueue: env('TASK_QUEUE'),
  store: openSqliteEventStore({ path: env('STORE_PATH') }),
  notifier: createRedisNotifier({ redis, channel: env('CHANNEL') }),
  logger: pino({ level: 'warn' }),
  workflowBundle: bundle,
  // No sticky queue: a task Temporal's time-skipping test server puts on the sticky queue of a worker that was
  // killed waits for its schedule-to-start timeout in skipped time, which does not pass while that task is
  // outstanding, so the test hung whenever the kill left one there. Every task goes to the shared queue.
  maxCachedWorkflows: 0,
});
process.stdout.write('worker ready\n');
