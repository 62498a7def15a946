import { z } from 'zod';
import { idSchema, nameSchema } from '../common.js';
import { unitLevelSchema } from './hierarchy.js';

export const unitStreamId = (unitId: string) => `unit-${unitId}`;

export const unitRegisteredSchema = z.strictObject({
  unitId: idSchema,
  name: nameSchema,
  level: unitLevelSchema,
  parentId: idSchema.nullable(),
});
export type UnitRegistered = { type: 'UnitRegistered'; data: z.infer<typeof unitRegisteredSchema> };

/**
 * The population a unit is registered or updated with: what poverty incidence is measured against (and,
 * for a relocation site, the people resettled there).
 */
export const unitPopulationUpdatedSchema = z.strictObject({
  unitId: idSchema,
  population: z.number().int().min(0).max(100_000_000),
});
export type UnitPopulationUpdated = { type: 'UnitPopulationUpdated'; data: z.infer<typeof unitPopulationUpdatedSchema> };

export type UnitEvent = UnitRegistered | UnitPopulationUpdated;

export const unitEventSchemas = {
  UnitRegistered: unitRegisteredSchema,
  UnitPopulationUpdated: unitPopulationUpdatedSchema,
} as const;
