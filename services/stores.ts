import path from 'node:path';
import type { Redis } from 'ioredis';

import { openEventStoreDb } from '../infra/eventstoredb/event-store.js';
import { openPostgresEventStore } from '../infra/postgres/event-store.js';
import { createRedisCheckpointStore } from '../infra/redis/checkpoints.js';
import { createRedisReadModel } from '../infra/redis/read-model.js';
import { createSqliteCheckpointStore } from '../infra/sqlite/checkpoints.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../infra/sqlite/read-model.js';
import type { Config } from './config.js';
import type { CheckpointStore } from './ports/checkpoints.js';
import type { EventStore } from './ports/event-store.js';
import type { ReadModelStore } from './ports/read-model.js';

// The stores the configuration names, opened the same way by the service (services/main.ts) and the
// admin command line (services/cli/admin.ts): the embedded files in DATA_DIR unless a server is configured.

type StoreConfig = Pick<Config, 'dataDir' | 'databaseUrl' | 'esdbUrl' | 'redisUrl' | 'sqliteSynchronous'>;

/** How /health and `npm run admin -- status` name the event store. */
export const eventStoreKind = (config: StoreConfig): 'postgres' | 'eventstoredb' | 'event-store' =>
  config.databaseUrl ? 'postgres' : config.esdbUrl ? 'eventstoredb' : 'event-store';

export async function openEventStore(config: StoreConfig): Promise<EventStore> {
  if (config.databaseUrl) return openPostgresEventStore({ connectionString: config.databaseUrl });
  if (config.esdbUrl) return openEventStoreDb({ connectionString: config.esdbUrl });
  return openSqliteEventStore({ path: path.join(config.dataDir, 'events.db'), synchronous: config.sqliteSynchronous });
}

export function openReadModel(config: StoreConfig): ReadModelStore {
  return config.redisUrl
    ? createRedisReadModel({ url: config.redisUrl })
    : createSqliteReadModel({ path: path.join(config.dataDir, 'ledgers.db') });
}

/** `redis` is the process's client when REDIS_URL is set. */
export function openCheckpointStore(config: StoreConfig, redis: Redis | undefined): CheckpointStore {
  return redis ? createRedisCheckpointStore({ redis }) : createSqliteCheckpointStore({ path: path.join(config.dataDir, 'checkpoints.db') });
}
