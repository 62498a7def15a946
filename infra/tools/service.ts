/** What a provider returns when it cannot supply a service, with a reason a person can act on. */
export interface Unavailable {
  readonly unavailable: string;
}

export function unavailable(reason: string): Unavailable {
  return { unavailable: reason };
}

export function isUnavailable<T extends object>(provided: T | Unavailable): provided is Unavailable {
  return 'unavailable' in provided;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One way a provider may get its service: the server, or why not (a reason, or an error thrown). */
export interface ProviderStep<T> {
  /** Prefixes a thrown error's message in the reasons. */
  readonly name: string;
  readonly start: () => Promise<T | string>;
}

/**
 * Tries each way in order and returns the first server; when none gives one, every reason, after the
 * ones the caller already has (e.g. "REDIS_URL is not set").
 */
export async function firstAvailable<T extends object>(reasons: readonly string[], steps: readonly ProviderStep<T>[]): Promise<T | Unavailable> {
  const why = [...reasons];
  for (const step of steps) {
    try {
      const started = await step.start();
      if (typeof started !== 'string') return started;
      why.push(started);
    } catch (error) {
      why.push(`${step.name}: ${errorMessage(error)}`);
    }
  }
  return unavailable(why.join('; '));
}
