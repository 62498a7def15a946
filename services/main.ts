import { Connection } from '@temporalio/client';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';

import { createRedisClient } from '../infra/redis/client.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { provideTemporal } from '../infra/temporal/provider.js';
import { isUnavailable } from '../infra/tools/service.js';
import { ConfigError, loadConfig, withJwtSecret } from './config.js';
import { buildApp, type HealthCheck } from './http/app.js';
import { logRedactPaths } from './http/plugins/correlation.js';
import { Running } from './lifecycle.js';

// The composition root: read the configuration, start or connect each dependency, register its health
// check and its closer, then serve HTTP. Everything started here is closed on SIGINT/SIGTERM.

const config = await withJwtSecret(readConfigOrExit());
const log = pino({ level: config.logLevel, redact: logRedactPaths });
const running = new Running(log);
running.closeOnSignals();

try {
  await mkdir(config.dataDir, { recursive: true });
  const health: HealthCheck[] = [];

  if (config.esdbUrl) throw new Error('ESDB_URL is set, but the EventStoreDB adapter is not wired in yet');
  const store = openSqliteEventStore({
    path: path.join(config.dataDir, 'events.db'),
    synchronous: config.sqliteSynchronous,
  });
  running.add('event store', () => store.close());
  health.push({ name: 'event-store', check: () => store.ping() });

  const temporal = await provideTemporal({
    address: config.temporalAddress,
    namespace: config.temporalNamespace,
    dbFilename: path.join(config.dataDir, 'temporal.db'),
    logFile: path.join(config.dataDir, 'temporal.log'),
  });
  if (isUnavailable(temporal)) throw new Error(`Temporal is unavailable: ${temporal.unavailable}`);
  running.add('temporal server', temporal.stop);
  log.info({ address: temporal.address, source: temporal.source, ui: temporal.uiUrl }, 'temporal ready');
  const temporalConnection = await Connection.connect({ address: temporal.address });
  running.add('temporal connection', () => temporalConnection.close());
  health.push({
    name: 'temporal',
    check: async () => {
      await temporalConnection.workflowService.describeNamespace({ namespace: temporal.namespace });
    },
  });

  if (config.redisUrl) {
    const redis = createRedisClient(config.redisUrl, { name: 'duban-service' });
    running.add('redis', () => redis.quit());
    health.push({ name: 'redis', check: async () => void (await redis.ping()) });
  }

  const app = await buildApp({ health, logger: log });
  running.add('http server', () => app.close());
  await app.listen({ port: config.port, host: config.host });
} catch (error) {
  log.fatal({ err: error }, 'start-up failed');
  await running.closeAll();
  process.exit(1);
}

function readConfigOrExit(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
