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

export type UnitEvent = UnitRegistered;

export const unitEventSchemas = {
  UnitRegistered: unitRegisteredSchema,
} as const;
