import { authorize } from '../access.js';
import { z } from 'zod';
import { idSchema, makeEvent, nameSchema } from '../common.js';
import { assertNever, type DecideContext, type Decider } from '../decider.js';
import { invalid, notFound, refuse } from '../errors.js';
import { type UnitEvent, unitPopulationUpdatedSchema, unitRegisteredSchema } from './events.js';
import { allowedParentLevels, type UnitLevel, unitLevelSchema } from './hierarchy.js';

export type UnitState =
  | { status: 'unregistered' }
  | { status: 'registered'; unitId: string; name: string; level: UnitLevel; parentId: string | null; population?: number };

export const initialUnitState: UnitState = { status: 'unregistered' };

export function evolveUnit(state: UnitState, event: UnitEvent): UnitState {
  switch (event.type) {
    case 'UnitRegistered':
      // Registration happens once; a stray repeat in a stream never renames or moves a unit.
      return state.status === 'unregistered' ? { status: 'registered', ...event.data } : state;
    case 'UnitPopulationUpdated':
      return state.status === 'registered' ? { ...state, population: event.data.population } : state;
    default:
      return assertNever(event, 'unit event');
  }
}

export const unitCommandSchemas = {
  registerUnit: z.strictObject({
    type: z.literal('registerUnit'),
    unitId: idSchema,
    name: nameSchema,
    level: unitLevelSchema,
    parentId: idSchema.nullable(),
  }),
  updatePopulation: z.strictObject({
    type: z.literal('updatePopulation'),
    unitId: idSchema,
    population: z.number().int().min(0).max(100_000_000),
  }),
} as const;
export const unitCommandSchema = z.discriminatedUnion('type', [unitCommandSchemas.registerUnit, unitCommandSchemas.updatePopulation]);
export type UnitCommand = z.infer<typeof unitCommandSchema>;

export function decideUnit(command: UnitCommand, state: UnitState, context: DecideContext): UnitEvent[] {
  const { hierarchy } = context;
  switch (command.type) {
    case 'registerUnit': {
      const { unitId, parentId, level } = command;
      if (state.status !== 'unregistered' || hierarchy.levelOf(unitId) !== undefined) {
        throw refuse('unit.register.duplicate', `unit ${unitId} is already registered`, { unitId });
      }
      if (parentId === null) {
        if (level !== 'prefecture') {
          throw invalid('unit.register.level_order', `a ${level} needs a parent unit`, { unitId, level });
        }
      } else {
        const parentLevel = hierarchy.levelOf(parentId);
        if (parentLevel === undefined) {
          throw notFound('unit.register.unknown_parent', `parent unit ${parentId} is not registered`, {
            unitId,
            parentId,
          });
        }
        if (!allowedParentLevels[level].includes(parentLevel)) {
          throw invalid('unit.register.level_order', `a ${level} cannot be placed under a ${parentLevel}`, {
            unitId,
            level,
            parentId,
            parentLevel,
          });
        }
      }
      // A root is registered by an admin of that very unit; any other unit by an admin above it.
      authorize(context.actor, 'unit.register', [parentId ?? unitId], hierarchy);
      return [makeEvent('UnitRegistered', unitRegisteredSchema, { unitId, name: command.name, level, parentId })];
    }
    case 'updatePopulation': {
      if (state.status !== 'registered') {
        throw notFound('unit.not_found', `unit ${command.unitId} is not registered`, { unitId: command.unitId });
      }
      authorize(context.actor, 'unit.updatePopulation', [state.unitId], hierarchy);
      // The same figure again changes nothing, so a repeated import appends nothing.
      if (state.population === command.population) return [];
      return [makeEvent('UnitPopulationUpdated', unitPopulationUpdatedSchema, { unitId: state.unitId, population: command.population })];
    }
    default:
      return assertNever(command, 'unit command');
  }
}

export const unitDecider: Decider<UnitCommand, UnitEvent, UnitState> = {
  initialState: initialUnitState,
  evolve: evolveUnit,
  decide: decideUnit,
};
