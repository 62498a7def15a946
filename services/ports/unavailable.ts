/**
 * A shared server a request needs (the event store, the ledgers' Redis) is not answering. Adapters turn
 * their vendor's connection failures into this; the HTTP edge answers 503 with Retry-After, never 500.
 */
export class DependencyUnavailableError extends Error {
  /** Read by the HTTP error handler, as fastify's own errors carry it. */
  readonly statusCode = 503;

  constructor(
    readonly dependency: string,
    cause: unknown,
    readonly retryAfterSeconds = 5,
  ) {
    super(`${dependency} is unavailable`, { cause });
    this.name = 'DependencyUnavailableError';
  }
}

/**
 * The same object with every method's failure passed through `translate` (methods of objects it holds
 * are left as they are).
 */
export function translateFailures<T extends object>(target: T, translate: (error: unknown) => unknown): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(target)) {
    wrapped[name] =
      typeof value === 'function'
        ? (...args: unknown[]) => {
            try {
              const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
              return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(translate(error))) : result;
            } catch (error) {
              throw translate(error);
            }
          }
        : value;
  }
  return wrapped as T;
}
