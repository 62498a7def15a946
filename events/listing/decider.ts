import { z } from 'zod';
import { authorize } from '../access.js';
import { type ActorRef, type Figures, figuresSchema, idSchema, makeEvent } from '../common.js';
import { assertNever, type DecideContext, type Decider } from '../decider.js';
import { forbid, invalid, notFound, refuse } from '../errors.js';
import { isStrictlyAbove, isWithin } from '../unit/hierarchy.js';
import { leaderSchema, type ListingEvent, targetDelistedSchema, targetListedSchema } from './events.js';

// ---------------------------------------------------------------------------------------------------
// State

export interface Listing {
  status: 'listed' | 'delisted';
  listingId: string;
  targetUnitId: string;
  supervisingUnitId: string;
  leader: z.infer<typeof leaderSchema>;
  reason: string;
  metrics: Figures;
  verifiedBy: ActorRef | null;
}

export type ListingState = { status: 'none' } | Listing;

export const initialListingState: ListingState = { status: 'none' };

export function evolveListing(state: ListingState, event: ListingEvent): ListingState {
  switch (event.type) {
    case 'TargetListed':
      if (state.status !== 'none') return state;
      return { status: 'listed', ...event.data, verifiedBy: null };
    case 'TargetDelisted':
      if (state.status !== 'listed') return state;
      return { ...state, status: 'delisted', verifiedBy: event.data.verifiedBy };
    default:
      return assertNever(event, 'listing event');
  }
}

// ---------------------------------------------------------------------------------------------------
// Commands

export const listingCommandSchemas = {
  listTarget: z.strictObject({
    type: z.literal('listTarget'),
    listingId: idSchema,
    targetUnitId: idSchema,
    supervisingUnitId: idSchema,
    leader: leaderSchema,
    reason: z.string().max(2000),
    metrics: figuresSchema,
  }),
  delistTarget: z.strictObject({ type: z.literal('delistTarget'), listingId: idSchema }),
} as const;

export const listingCommandSchema = z.discriminatedUnion('type', [
  listingCommandSchemas.listTarget,
  listingCommandSchemas.delistTarget,
]);
export type ListingCommand = z.infer<typeof listingCommandSchema>;

// ---------------------------------------------------------------------------------------------------
// Decide

export function decideListing(command: ListingCommand, state: ListingState, context: DecideContext): ListingEvent[] {
  const { actor, hierarchy } = context;
  switch (command.type) {
    case 'listTarget': {
      if (state.status !== 'none') {
        throw refuse('listing.list.duplicate', `listing ${command.listingId} already exists`, {
          listingId: command.listingId,
        });
      }
      for (const unitId of [command.targetUnitId, command.supervisingUnitId]) {
        if (hierarchy.levelOf(unitId) === undefined) {
          throw notFound('listing.list.unknown_unit', `unit ${unitId} is not registered`, { unitId });
        }
      }
      if (!isStrictlyAbove(hierarchy, command.supervisingUnitId, command.targetUnitId)) {
        throw invalid(
          'listing.list.supervisor_not_above',
          `supervising unit ${command.supervisingUnitId} is not above target ${command.targetUnitId}`,
        );
      }
      authorize(actor, 'listing.list', [command.targetUnitId], hierarchy);
      if (!isWithin(hierarchy, actor.unitId, command.supervisingUnitId)) {
        throw forbid(
          'listing.list.supervisor_outside_scope',
          `unit ${actor.unitId} cannot list on behalf of ${command.supervisingUnitId}`,
        );
      }
      if (command.reason.trim().length === 0) throw invalid('listing.list.reason_required', 'a reason is required');
      const { type: _type, ...data } = command;
      return [makeEvent('TargetListed', targetListedSchema, data)];
    }

    case 'delistTarget': {
      if (state.status === 'none') {
        throw notFound('listing.not_found', `listing ${command.listingId} does not exist`, {
          listingId: command.listingId,
        });
      }
      if (state.listingId !== command.listingId) {
        throw invalid('listing.stream_mismatch', `command for ${command.listingId} sent to ${state.listingId}`);
      }
      if (state.status === 'delisted') {
        throw refuse('listing.delist.already_delisted', `listing ${command.listingId} is already delisted`, {
          listingId: command.listingId,
        });
      }
      if (actor.unitId === state.targetUnitId) {
        throw forbid('listing.delist.own_unit', 'a listed unit cannot verify its own delisting', {
          unitId: actor.unitId,
        });
      }
      if (!isStrictlyAbove(hierarchy, actor.unitId, state.targetUnitId)) {
        throw forbid('listing.delist.not_above', `unit ${actor.unitId} is not above ${state.targetUnitId}`, {
          unitId: actor.unitId,
          targetUnitId: state.targetUnitId,
        });
      }
      authorize(actor, 'listing.delist', [state.targetUnitId], hierarchy);
      return [
        makeEvent('TargetDelisted', targetDelistedSchema, {
          listingId: state.listingId,
          verifiedBy: { userId: actor.userId, unitId: actor.unitId },
        }),
      ];
    }

    default:
      return assertNever(command, 'listing command');
  }
}

export const listingDecider: Decider<ListingCommand, ListingEvent, ListingState> = {
  initialState: initialListingState,
  evolve: evolveListing,
  decide: decideListing,
};
