import type { Redis } from 'ioredis';
import type { CheckpointStore } from '../../services/ports/checkpoints.js';

/**
 * Checkpoints in Redis (for deployments whose event store is a server and whose processes are
 * stateless). Durable as far as Redis is configured to persist (AOF recommended).
 */
export function createRedisCheckpointStore(deps: { redis: Redis; keyPrefix?: string }): CheckpointStore {
  const key = (id: string) => `${deps.keyPrefix ?? 'duban:checkpoint:'}${id}`;
  return {
    async load(subscriberId) {
      const value = await deps.redis.get(key(subscriberId));
      return value === null ? undefined : BigInt(value);
    },
    async save(subscriberId, position) {
      await deps.redis.set(key(subscriberId), position.toString());
    },
    // The connection belongs to the caller.
    async close() {},
  };
}
