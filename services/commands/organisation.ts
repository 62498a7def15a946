import { householdDecider, householdStreamId, type HouseholdCommand, type HouseholdEvent, type HouseholdState } from '../../events/household/index.js';
import { isAuthorized, outOfSight } from '../../events/access.js';
import { unitDecider, unitStreamId, type UnitCommand, type UnitEvent, type UnitState } from '../../events/unit/index.js';
import type { CommandMeta, CommandHandler, StreamKind } from './handler.js';

export const unitStream: StreamKind<UnitCommand, UnitEvent, UnitState> = {
  name: 'unit',
  decider: unitDecider,
  unitsOfState: (state) => (state.status === 'registered' && state.parentId ? [state.parentId] : []),
};

export const householdStream: StreamKind<HouseholdCommand, HouseholdEvent, HouseholdState> = {
  name: 'household',
  decider: householdDecider,
  unitsOfState: (state) =>
    state.status === 'registered' ? [state.villageId, ...Object.values(state.measures).map((m) => m.responsibleUnitId)] : [],
  guard(state, actor, hierarchy) {
    if (state.status === 'registered' && !isAuthorized(actor, 'read', [state.villageId], hierarchy)) {
      throw outOfSight('household.not_found', `household ${state.householdId} is not registered`, { householdId: state.householdId });
    }
  },
};

/** Organisation (组织): the unit tree and the households of its villages. */
export function createOrganisationCommands(deps: { handler: CommandHandler }) {
  return {
    registerUnit: (input: Omit<Extract<UnitCommand, { type: 'registerUnit' }>, 'type'>, meta: CommandMeta) =>
      deps.handler.run(unitStream, unitStreamId(input.unitId), { type: 'registerUnit', ...input }, meta),
    updatePopulation: (input: Omit<Extract<UnitCommand, { type: 'updatePopulation' }>, 'type'>, meta: CommandMeta) =>
      deps.handler.run(unitStream, unitStreamId(input.unitId), { type: 'updatePopulation', ...input }, meta),
    registerHousehold: (input: Omit<Extract<HouseholdCommand, { type: 'registerHousehold' }>, 'type'>, meta: CommandMeta) =>
      deps.handler.run(householdStream, householdStreamId(input.householdId), { type: 'registerHousehold', ...input }, meta),
  };
}
export type OrganisationCommands = ReturnType<typeof createOrganisationCommands>;
