import fp from 'fastify-plugin';
import type { LedgerQueries } from '../../ports/read-model.js';
import type { EventStore } from '../../ports/event-store.js';
import type { UnitHierarchy } from '../../hierarchy.js';
import type { ProblemCommands } from '../../commands/problems.js';
import type { OrganisationCommands } from '../../commands/organisation.js';
import type { HouseholdCommands } from '../../commands/households.js';
import type { ListingCommands } from '../../commands/listings.js';
import type { AuditService } from '../../audit/service.js';
import type { LedgerExports } from '../../exports/index.js';
import type { ReviewQueries } from '../../reviews/index.js';
import type { Imports } from '../../imports/index.js';

/** What the routes work with; built once by the composition root and shared by every route. */
export interface ApiServices {
  store: EventStore;
  hierarchy: UnitHierarchy;
  ledgers: LedgerQueries;
  /**
   * Position the live ledgers have applied up to. When given, live ledger answers are kept for up to a
   * second and served again while this position has not moved (dashboards poll the same roll-ups).
   */
  ledgerPosition?: () => Promise<bigint>;
  problems: ProblemCommands;
  organisation: OrganisationCommands;
  households: HouseholdCommands;
  listings: ListingCommands;
  /** The audit tree (signed digests, proofs, verification); absent where no signing key is configured. */
  audit?: AuditService;
  /** The ledgers as workbooks (xlsx, CSV). */
  exports: LedgerExports;
  /** Review figures (一月一研判, 每日一报) and listing candidates. */
  reviews: ReviewQueries;
  /** Imports of the offices' workbooks through the one command handler. */
  imports: Imports;
}

declare module 'fastify' {
  interface FastifyInstance {
    duban: ApiServices;
  }
}

export const servicesPlugin = fp<{ services: ApiServices }>(
  async (app, { services }) => {
    app.decorate('duban', services);
  },
  { name: 'duban-services', fastify: '5.x' },
);
