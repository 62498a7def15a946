import { Redis } from 'ioredis';

/**
 * One ioredis client. Commands fail fast instead of queueing forever while Redis is down, so callers
 * (health checks, projections) see the outage. Call `quit()` when done; there is no shared instance.
 */
export function createRedisClient(url: string, options: { name?: string } = {}): Redis {
  return new Redis(url, {
    connectionName: options.name ?? 'duban',
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    lazyConnect: false,
  });
}
