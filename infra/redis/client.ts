import { Redis } from 'ioredis';
import { DependencyUnavailableError } from '../../services/ports/unavailable.js';

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

/**
 * ioredis's ways of saying the server is not there (gave up retrying, connection closed or refused) as
 * the port's DependencyUnavailableError; any other error as it is.
 */
export function redisOutage(error: unknown): unknown {
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  const outage =
    name === 'MaxRetriesPerRequestError' ||
    (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code)) ||
    (typeof message === 'string' && /Connection is closed|Stream isn't writeable|ECONNREFUSED/.test(message));
  return outage ? new DependencyUnavailableError('redis', error) : error;
}
