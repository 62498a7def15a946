import { Redis } from 'ioredis';
import { DependencyUnavailableError } from '../../services/ports/unavailable.js';

/** A command not answered within this long fails (as an outage), whatever the connection's state. */
export const REDIS_COMMAND_TIMEOUT_MS = 10_000;

/**
 * One ioredis client. Commands fail fast instead of queueing forever while Redis is down, so callers
 * (health checks, projections) see the outage: queued ones after two reconnection attempts, and any one
 * after REDIS_COMMAND_TIMEOUT_MS, including one that was sent just before the connection dropped (ioredis
 * keeps those to resend after reconnecting, which would leave its caller waiting as long as Redis is gone).
 * Connection errors are not thrown at the client's owner: the commands that need Redis report them.
 * Call `quit()` when done; there is no shared instance.
 */
export function createRedisClient(url: string, options: { name?: string } = {}): Redis {
  const redis = new Redis(url, {
    connectionName: options.name ?? 'duban',
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    lazyConnect: false,
  });
  redis.on('error', () => undefined);
  return redis;
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
    (typeof message === 'string' && /Connection is closed|Stream isn't writeable|ECONNREFUSED|Command timed out/.test(message));
  return outage ? new DependencyUnavailableError('redis', error) : error;
}
