import type { TestProject } from 'vitest/node';

import { providePostgres } from '../../infra/postgres/provider.js';
import { provideRedis } from '../../infra/redis/provider.js';
import { provideTemporal } from '../../infra/temporal/provider.js';
import { isUnavailable } from '../../infra/tools/service.js';
import type { ServiceName } from './services.js';

/**
 * Starts Temporal's dev server, Redis and PostgreSQL once per test run and hands their addresses to the tests through
 * vitest's `provide`/`inject`. With CI=true or REQUIRE_SERVICES=1 a service that cannot start fails the run;
 * otherwise the suites that need it are skipped, loudly.
 */

interface Started {
  readonly context: {
    temporalAddress: string;
    temporalNamespace: string;
    redisUrl: string;
    databaseUrl: string;
    serviceProblems: Partial<Record<ServiceName, string>>;
  };
  readonly stop: () => Promise<void>;
}

// The int and e2e projects each run this file; the first starts the services and the last one out stops them.
const SHARED = Symbol.for('duban.test-services');
type Shared = { started: Promise<Started>; users: number };
const registry = globalThis as { [SHARED]?: Shared };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = (registry[SHARED] ??= { started: startServices(), users: 0 });
  shared.users += 1;
  const { context, stop } = await shared.started;
  project.provide('temporalAddress', context.temporalAddress);
  project.provide('temporalNamespace', context.temporalNamespace);
  project.provide('redisUrl', context.redisUrl);
  project.provide('databaseUrl', context.databaseUrl);
  project.provide('serviceProblems', context.serviceProblems);
  return async () => {
    shared.users -= 1;
    if (shared.users > 0) return;
    delete registry[SHARED];
    await stop();
  };
}

async function startServices(): Promise<Started> {
  const required = ['true', '1'].includes(process.env['CI'] ?? '') || process.env['REQUIRE_SERVICES'] === '1';
  const namespace = process.env['TEMPORAL_NAMESPACE'] || 'default';
  const [temporal, redis, postgres] = await Promise.all([
    provideTemporal({ address: process.env['TEMPORAL_ADDRESS'], namespace }),
    provideRedis({ url: process.env['REDIS_URL'] }),
    providePostgres({ url: process.env['DATABASE_URL'] }),
  ]);
  const stop = async (): Promise<void> => {
    await Promise.all([temporal, redis, postgres].map((s) => (isUnavailable(s) ? undefined : s.stop())));
  };

  const problems: Partial<Record<ServiceName, string>> = {};
  if (isUnavailable(temporal)) problems.temporal = temporal.unavailable;
  else console.info(`[services] temporal ${temporal.address} (${temporal.source})`);
  if (isUnavailable(redis)) problems.redis = redis.unavailable;
  else console.info(`[services] redis ${redis.url} (${redis.source})`);
  if (isUnavailable(postgres)) problems.postgres = postgres.unavailable;
  else console.info(`[services] postgres ${postgres.url} (${postgres.source})`);

  const missing = Object.entries(problems).map(([name, reason]) => `${name} unavailable: ${reason}`);
  if (missing.length > 0 && required) {
    await stop();
    throw new Error(`CI=true / REQUIRE_SERVICES=1 and a service could not start:\n${missing.join('\n')}`);
  }
  for (const line of missing) {
    console.warn(`\n[services] ${line}\n[services] suites that need it are SKIPPED (CI=true or REQUIRE_SERVICES=1 fails instead)\n`);
  }
  return {
    context: {
      temporalAddress: isUnavailable(temporal) ? '' : temporal.address,
      temporalNamespace: namespace,
      redisUrl: isUnavailable(redis) ? '' : redis.url,
      databaseUrl: isUnavailable(postgres) ? '' : postgres.url,
      serviceProblems: problems,
    },
    stop,
  };
}
