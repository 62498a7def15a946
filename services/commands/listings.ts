import { isAuthorized, outOfSight } from '../../events/access.js';
import { listingDecider, listingStreamId, type ListingCommand, type ListingEvent, type ListingState } from '../../events/listing/index.js';
import type { CommandMeta, CommandHandler, StreamKind } from './handler.js';

export const listingStream: StreamKind<ListingCommand, ListingEvent, ListingState> = {
  name: 'listing',
  decider: listingDecider,
  unitsOfState: (state) => (state.status === 'none' ? [] : [state.targetUnitId, state.supervisingUnitId]),
  guard(state, actor, hierarchy) {
    if (state.status !== 'none' && !isAuthorized(actor, 'read', [state.targetUnitId], hierarchy)) {
      throw outOfSight('listing.not_found', `listing ${state.listingId} does not exist`, { listingId: state.listingId });
    }
  },
};

/** Listed supervision (挂牌督战): putting a target on a higher level's list, and taking it off. */
export function createListingCommands(deps: { handler: CommandHandler }) {
  return {
    list: (input: Omit<Extract<ListingCommand, { type: 'listTarget' }>, 'type'>, meta: CommandMeta) =>
      deps.handler.run(listingStream, listingStreamId(input.listingId), { type: 'listTarget', ...input }, meta),
    delist: (listingId: string, meta: CommandMeta) =>
      deps.handler.run(listingStream, listingStreamId(listingId), { type: 'delistTarget', listingId }, meta),
  };
}
export type ListingCommands = ReturnType<typeof createListingCommands>;
