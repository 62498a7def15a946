import { describe, inject } from 'vitest';

/** The services test/setup/services.global.ts starts once per run for the int and e2e projects. */
export type ServiceName = 'temporal' | 'redis' | 'postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Temporal frontend; '' when Temporal could not start (outside CI). */
    temporalAddress: string;
    temporalNamespace: string;
    /** redis://host:port; '' when Redis could not start (outside CI). */
    redisUrl: string;
    /** postgres://… of a database tests may create schemas in; '' when PostgreSQL could not start (outside CI). */
    databaseUrl: string;
    /** Why each missing service could not start. */
    serviceProblems: Partial<Record<ServiceName, string>>;
  }
}

/**
 * The service's address, or undefined after a loud warning when it could not start (only possible outside
 * CI: with CI=true the run has already failed). Use it to skip: `describe.skipIf(!url)(…)`.
 */
export function requireService(name: ServiceName): string | undefined {
  const value = inject(({ temporal: 'temporalAddress', redis: 'redisUrl', postgres: 'databaseUrl' } as const)[name]);
  if (value) return value;
  const reason = inject('serviceProblems')[name] ?? 'not started: is this an int or e2e test file?';
  console.warn(`[services] ${name} unavailable (${reason}): its tests are SKIPPED`);
  return undefined;
}

/**
 * A describe block that gets the service's address, or whose tests are all reported as skipped with the
 * reason in the title. When skipped, `body` still runs to register the tests (with ''), so open
 * connections in hooks, not in the describe body.
 */
export function describeWithService(name: ServiceName, title: string, body: (address: string) => void): void {
  const value = requireService(name);
  if (value) describe(title, () => body(value));
  else describe.skip(`${title} [skipped: ${name} unavailable]`, () => body(''));
}
