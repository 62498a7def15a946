import { z } from 'zod';
import { actorRefSchema, figuresSchema, idSchema, nameSchema, reasonSchema } from '../common.js';

export const listingStreamId = (listingId: string) => `listing-${listingId}`;

/** The named leader who takes the listed target (挂牌督战 by a named leader). */
export const leaderSchema = z.strictObject({
  name: nameSchema,
  position: nameSchema,
});

export const targetListedSchema = z.strictObject({
  listingId: idSchema,
  targetUnitId: idSchema,
  supervisingUnitId: idSchema,
  leader: leaderSchema,
  reason: reasonSchema,
  /** e.g. remainingPoorPeople, remainingPoorHouseholds, povertyIncidencePercent, relocatedPeople. */
  metrics: figuresSchema,
});

export const targetDelistedSchema = z.strictObject({
  listingId: idSchema,
  /** The user and unit (strictly above the target) that verified the work. */
  verifiedBy: actorRefSchema,
});

export type TargetListed = { type: 'TargetListed'; data: z.infer<typeof targetListedSchema> };
export type TargetDelisted = { type: 'TargetDelisted'; data: z.infer<typeof targetDelistedSchema> };
export type ListingEvent = TargetListed | TargetDelisted;

export const listingEventSchemas = {
  TargetListed: targetListedSchema,
  TargetDelisted: targetDelistedSchema,
} as const;
