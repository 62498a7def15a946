import { householdStreamId, type HouseholdCommand } from '../../events/household/index.js';
import { householdStream } from './organisation.js';
import type { CommandMeta, CommandHandler } from './handler.js';

type Input<T extends HouseholdCommand['type']> = Omit<Extract<HouseholdCommand, { type: T }>, 'type' | 'householdId'>;

/** Household plans (一户一方案): measures, assessments against the standard, monitoring. */
export function createHouseholdCommands(deps: { handler: CommandHandler }) {
  const run = (householdId: string, command: HouseholdCommand, meta: CommandMeta) =>
    deps.handler.run(householdStream, householdStreamId(householdId), command, meta);
  return {
    addPlanMeasure: (householdId: string, input: Input<'addPlanMeasure'>, meta: CommandMeta) =>
      run(householdId, { type: 'addPlanMeasure', householdId, ...input }, meta),
    completePlanMeasure: (householdId: string, input: Input<'completePlanMeasure'>, meta: CommandMeta) =>
      run(householdId, { type: 'completePlanMeasure', householdId, ...input }, meta),
    assess: (householdId: string, input: Input<'assessHousehold'>, meta: CommandMeta) =>
      run(householdId, { type: 'assessHousehold', householdId, ...input }, meta),
    raiseFlag: (householdId: string, input: Input<'raiseMonitoringFlag'>, meta: CommandMeta) =>
      run(householdId, { type: 'raiseMonitoringFlag', householdId, ...input }, meta),
    clearFlag: (householdId: string, input: Input<'clearMonitoringFlag'>, meta: CommandMeta) =>
      run(householdId, { type: 'clearMonitoringFlag', householdId, ...input }, meta),
    changeCategory: (householdId: string, input: Input<'changeHouseholdCategory'>, meta: CommandMeta) =>
      run(householdId, { type: 'changeHouseholdCategory', householdId, ...input }, meta),
  };
}
export type HouseholdCommands = ReturnType<typeof createHouseholdCommands>;
