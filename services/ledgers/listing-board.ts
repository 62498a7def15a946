import type { Recorded } from './recorded.js';
import type { ListingEvent } from '../../events/listing/events.js';
import type { ListingRow, RollupCounts } from '../ports/read-model.js';
import { ApplyError } from './apply-error.js';

/** The listing board (挂牌督战): every listing, active until delisted. Pure. */
export function evolveListingRow(
  row: ListingRow | undefined,
  event: Recorded<ListingEvent>,
  ancestorsOfTarget: () => string[],
): ListingRow {
  switch (event.type) {
    case 'TargetListed': {
      if (row) throw new ApplyError(`listing ${row.listingId} was already made`);
      const d = event.data;
      return {
        listingId: d.listingId,
        targetUnitId: d.targetUnitId,
        supervisingUnitId: d.supervisingUnitId,
        ancestors: ancestorsOfTarget(),
        leader: `${d.leader.name} (${d.leader.position})`,
        reason: d.reason,
        metrics: d.metrics,
        active: true,
        listedAt: event.metadata.occurredAt,
        delistedAt: null,
        verifiedBy: null,
      };
    }
    case 'TargetDelisted':
      if (!row) throw new ApplyError(`delisting of unknown listing ${event.data.listingId}`);
      if (!row.active) throw new ApplyError(`listing ${row.listingId} was already delisted`);
      return { ...row, active: false, delistedAt: event.metadata.occurredAt, verifiedBy: event.data.verifiedBy.userId };
    default: {
      const unknown: never = event;
      throw new ApplyError(`unhandled listing event ${(unknown as { type: string }).type}`);
    }
  }
}

export function listingContribution(row: ListingRow | undefined): Partial<RollupCounts> {
  return row ? { listingsActive: row.active ? 1 : 0 } : {};
}
