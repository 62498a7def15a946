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
import type { Projections } from '../../ledgers/index.js';
import type { ReadModelReader } from '../../ports/read-model.js';

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

/**
 * `ledgerPosition` for a process: where it runs the projections itself, their committed checkpoint as
 * they keep it in memory (set once the commit with the rows returned, so never ahead of what readers of
 * that keyspace see), which saves a read of the stored checkpoint per ledger request. Where another
 * process projects (`--role api`), or before the projections have loaded, the read model's stored one.
 * A keyspace activated by another process (the admin rebuild) is followed by the projections within a
 * second, the same bound as the live answers' cache.
 */
export function ledgerPositionOf(active: Pick<ReadModelReader, 'checkpoint'>, projections?: Pick<Projections, 'status'>): () => Promise<bigint> {
  if (!projections) return () => active.checkpoint();
  return async () => {
    const status = projections.status();
    return status.running && status.checkpoint !== '-1' ? BigInt(status.checkpoint) : active.checkpoint();
  };
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
