import { chmod, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';

import { createRedisCheckpointStore } from '../infra/redis/checkpoints.js';
import { createRedisClient } from '../infra/redis/client.js';
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

export type StoreConfig = Pick<Config, 'dataDir' | 'databaseUrl' | 'esdbUrl' | 'redisUrl' | 'sqliteSynchronous'>;

/** The stores' part of a configuration, and nothing else of it (no secret), to hand to another thread. */
export const storeConfigOf = ({ dataDir, databaseUrl, esdbUrl, redisUrl, sqliteSynchronous }: StoreConfig): StoreConfig => ({
  dataDir,
  databaseUrl,
  esdbUrl,
  redisUrl,
  sqliteSynchronous,
});

/** The embedded files in one folder, no server: benchmarks and tests. */
export const embeddedStores = (dataDir: string, sqliteSynchronous: StoreConfig['sqliteSynchronous']): StoreConfig =>
  storeConfigOf({ dataDir, sqliteSynchronous, databaseUrl: undefined, esdbUrl: undefined, redisUrl: undefined });

/** How /health and `npm run admin -- status` name the event store. */
export const eventStoreKind = (config: StoreConfig): 'postgres' | 'eventstoredb' | 'event-store' =>
  config.databaseUrl ? 'postgres' : config.esdbUrl ? 'eventstoredb' : 'event-store';

/**
 * Told when a thread an embedded file relies on stops (its WAL checkpointer): nothing is lost, the file's own
 * connection checkpoints instead, but the appends pay for it again, so the service says so in its log.
 */
export type OnCheckpointFailure = (error: Error) => void;

/** The server adapters are loaded only when configured: a process on the embedded store never loads their clients. */
export async function openEventStore(config: StoreConfig, onCheckpointFailure?: OnCheckpointFailure): Promise<EventStore> {
  if (config.databaseUrl) return (await import('../infra/postgres/event-store.js')).openPostgresEventStore({ connectionString: config.databaseUrl });
  if (config.esdbUrl) return (await import('../infra/eventstoredb/event-store.js')).openEventStoreDb({ connectionString: config.esdbUrl });
  return openSqliteEventStore({ path: path.join(config.dataDir, 'events.db'), synchronous: config.sqliteSynchronous, onCheckpointFailure });
}

/**
 * `redis` is the process's client when REDIS_URL is set. Without one (a one-off admin command, a test)
 * the store opens its own and closes it with itself.
 */
export function openReadModel(config: StoreConfig, redis?: Redis, onCheckpointFailure?: OnCheckpointFailure): ReadModelStore {
  if (!config.redisUrl) return createSqliteReadModel({ path: path.join(config.dataDir, 'ledgers.db'), onCheckpointFailure });
  if (redis) return createRedisReadModel({ redis });
  return createRedisReadModel({ redis: createRedisClient(config.redisUrl, { name: 'duban-read-model' }), closeClient: true });
}

/** `redis` is the process's client when REDIS_URL is set. */
export function openCheckpointStore(config: StoreConfig, redis: Redis | undefined): CheckpointStore {
  return redis ? createRedisCheckpointStore({ redis }) : createSqliteCheckpointStore({ path: path.join(config.dataDir, 'checkpoints.db') });
}

/**
 * Events, idempotency records (response bodies), checkpoints, Temporal's database and the development
 * secret are nobody else's business: from here on every file this process (and the servers it starts)
 * creates is 600 and every folder 700, and what an older version left in DATA_DIR is tightened.
 */
export async function prepareDataDir(dataDir: string): Promise<void> {
  process.umask(0o077);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  for (const entry of await readdir(dataDir, { withFileTypes: true })) {
    await chmod(path.join(dataDir, entry.name), entry.isDirectory() ? 0o700 : 0o600).catch(() => undefined);
  }
}
