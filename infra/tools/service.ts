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
