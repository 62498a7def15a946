import type { EscalationPolicy } from '../../events/problem/index.js';
import { DEFAULT_TIME_ZONE } from '../../events/time.js';
import { DEFAULT_LISTING_THRESHOLDS, type ListingThresholds } from '../../events/listing/index.js';
import { createLedgerExports } from '../exports/index.js';
import { createReviewQueries } from '../reviews/index.js';
import { createImports } from '../imports/index.js';
import { createUnitHierarchy } from '../hierarchy.js';
import type { Metrics } from '../metrics.js';
import type { EventStore } from '../ports/event-store.js';
import type { LedgerQueries } from '../ports/read-model.js';
import type { ApiServices } from '../http/plugins/services.js';
import { createHouseholdCommands } from './households.js';
import { createListingCommands } from './listings.js';
import { createOrganisationCommands } from './organisation.js';
import { createProblemCommands } from './problems.js';
import { createCommandHandler } from './handler.js';

export interface ApiServiceDeps {
  store: EventStore;
  ledgers: LedgerQueries;
  /** Position the live ledgers have applied up to (enables the short-lived ledger answer cache). */
  ledgerPosition?: () => Promise<bigint>;
  /** The deployment's escalation policy (ESCALATION_POLICY), frozen into each problem when found. */
  policy: EscalationPolicy;
  /** Listing thresholds for the review's candidates; default the report's (version 1). */
  listingThresholds?: ListingThresholds;
  /** Zone for bare dates in commands without a policy of their own (TZ_DEFAULT). */
  timeZone?: string;
  metrics?: Metrics;
  now?: () => Date;
  logger?: { warn(obj: object, msg: string): void };
  /** Folder the import jobs are kept in (DATA_DIR/imports): a job a stop cut short is finished on start. */
  importJobsDir?: string;
}

/** The application services behind the routes. `start` loads the unit tree before the API takes requests. */
export function createApiServices(deps: ApiServiceDeps) {
  const hierarchy = createUnitHierarchy({ store: deps.store, ...(deps.logger ? { logger: deps.logger } : {}) });
  const handler = createCommandHandler({
    store: deps.store,
    hierarchy,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.timeZone ? { timeZone: deps.timeZone } : {}),
  });
  const services: ApiServices = {
    store: deps.store,
    hierarchy,
    ledgers: deps.ledgers,
    ...(deps.ledgerPosition ? { ledgerPosition: deps.ledgerPosition } : {}),
    problems: createProblemCommands({ handler, policy: deps.policy }),
    organisation: createOrganisationCommands({ handler }),
    households: createHouseholdCommands({ handler }),
    listings: createListingCommands({ handler }),
    exports: createLedgerExports({
      ledgers: deps.ledgers,
      store: deps.store,
      nameOf: hierarchy.view.nameOf,
      timeZone: deps.timeZone ?? DEFAULT_TIME_ZONE,
    }),
    imports: createImports({
      handler,
      hierarchy,
      store: deps.store,
      policy: deps.policy,
      ...(deps.timeZone ? { timeZone: deps.timeZone } : {}),
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.importJobsDir ? { jobsDir: deps.importJobsDir } : {}),
    }),
    reviews: createReviewQueries({
      ledgers: deps.ledgers,
      store: deps.store,
      thresholds: deps.listingThresholds ?? DEFAULT_LISTING_THRESHOLDS,
      timeZone: deps.timeZone ?? DEFAULT_TIME_ZONE,
      ...(deps.now ? { now: deps.now } : {}),
    }),
  };
  return {
    services,
    /** The one write path, for writers beside the routes (imports). */
    handler,
    async start() {
      await hierarchy.start();
      void services.imports.jobs.resume(deps.logger);
    },
    async close() {
      services.imports.jobs.close();
      await hierarchy.close();
    },
  };
}
export type ApiServicesHandle = ReturnType<typeof createApiServices>;
