import { z } from 'zod';
import { evidenceListSchema, idSchema, isoTime, reasonSchema, textSchema } from '../common.js';

export const householdStreamId = (householdId: string) => `household-${householdId}`;

/** 建档立卡户 registered / 边缘户 edge / 监测户 monitored. */
export const householdCategorySchema = z.enum(['registered', 'edge', 'monitored']);
export type HouseholdCategory = z.infer<typeof householdCategorySchema>;

/** What a household plan measure (一户一方案) works on. */
export const planMeasureKindSchema = z.enum([
  'industry',
  'employment',
  'education',
  'medical',
  'housing',
  'water',
  'social_security',
  'relocation',
  'other',
]);
export type PlanMeasureKind = z.infer<typeof planMeasureKindSchema>;

export const householdRegisteredSchema = z.strictObject({
  householdId: idSchema,
  villageId: idSchema,
  /** Number of people in the household; no personal data is kept in events. */
  members: z.number().int().min(1).max(100),
  category: householdCategorySchema,
});

export const householdCategoryChangedSchema = z.strictObject({
  householdId: idSchema,
  from: householdCategorySchema,
  to: householdCategorySchema,
  reason: reasonSchema,
});

export const planMeasureAddedSchema = z.strictObject({
  measureId: idSchema,
  kind: planMeasureKindSchema,
  description: textSchema,
  responsibleUnitId: idSchema,
  deadline: isoTime,
  /** When the measure was put into the plan, for one recorded later (an imported plan). Absent: when recorded. */
  plannedAt: isoTime.optional(),
});

export const planMeasureCompletedSchema = z.strictObject({
  measureId: idSchema,
  evidence: evidenceListSchema,
});

/** 两不愁三保障 + safe drinking water: the six standards a household is assessed against. */
export const standardsSchema = z.strictObject({
  food: z.boolean(),
  clothing: z.boolean(),
  education: z.boolean(),
  medical: z.boolean(),
  housing: z.boolean(),
  water: z.boolean(),
});

/** The six standards and whether the household meets them: exactly when all six hold. */
export const householdAssessedSchema = standardsSchema
  .extend({ meetsStandard: z.boolean() })
  .refine(
    (a) => a.meetsStandard === (a.food && a.clothing && a.education && a.medical && a.housing && a.water),
    'meetsStandard must be true exactly when all six standards are met',
  );

export const monitoringFlagRaisedSchema = z.strictObject({ reason: reasonSchema });
export const monitoringFlagClearedSchema = z.strictObject({ reason: reasonSchema });

type Ev<T extends string, S extends z.ZodType> = { type: T; data: z.infer<S> };
export type HouseholdRegistered = Ev<'HouseholdRegistered', typeof householdRegisteredSchema>;
export type HouseholdCategoryChanged = Ev<'HouseholdCategoryChanged', typeof householdCategoryChangedSchema>;
export type PlanMeasureAdded = Ev<'PlanMeasureAdded', typeof planMeasureAddedSchema>;
export type PlanMeasureCompleted = Ev<'PlanMeasureCompleted', typeof planMeasureCompletedSchema>;
export type HouseholdAssessed = Ev<'HouseholdAssessed', typeof householdAssessedSchema>;
export type MonitoringFlagRaised = Ev<'MonitoringFlagRaised', typeof monitoringFlagRaisedSchema>;
export type MonitoringFlagCleared = Ev<'MonitoringFlagCleared', typeof monitoringFlagClearedSchema>;

export type HouseholdEvent =
  | HouseholdRegistered
  | HouseholdCategoryChanged
  | PlanMeasureAdded
  | PlanMeasureCompleted
  | HouseholdAssessed
  | MonitoringFlagRaised
  | MonitoringFlagCleared;

export const householdEventSchemas = {
  HouseholdRegistered: householdRegisteredSchema,
  HouseholdCategoryChanged: householdCategoryChangedSchema,
  PlanMeasureAdded: planMeasureAddedSchema,
  PlanMeasureCompleted: planMeasureCompletedSchema,
  HouseholdAssessed: householdAssessedSchema,
  MonitoringFlagRaised: monitoringFlagRaisedSchema,
  MonitoringFlagCleared: monitoringFlagClearedSchema,
} as const;
