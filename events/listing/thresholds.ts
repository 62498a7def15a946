import { z } from 'zod';
import type { UnitLevel } from '../unit/hierarchy.js';

/**
 * Who should be listed (挂牌督战), as data: the thresholds of the report (州级督战、市县作战). Versioned
 * like the escalation policy; a new version is a new constant, never an edit of an old one, so a review
 * says which thresholds it applied.
 */
export const listingThresholdsSchema = z.strictObject({
  version: z.number().int().positive(),
  /** Prefecture leaders list targets with more remaining poor people than this, and relocation sites with more people. */
  prefecture: z.strictObject({
    remainingPoorPeopleAbove: z.number().int().min(0),
    relocationSitePeopleAbove: z.number().int().min(0),
  }),
  /** County leaders list townships with more remaining poor people than this, and villages whose incidence exceeds this (%). */
  county: z.strictObject({
    townshipRemainingPoorAbove: z.number().int().min(0),
    villageIncidencePercentAbove: z.number().min(0).max(100),
  }),
});
export type ListingThresholds = z.infer<typeof listingThresholdsSchema>;

/** From the Diqing report (2020): > 1,000 remaining poor or sites > 1,000 people; townships > 50; villages > 1.3%. */
export const LISTING_THRESHOLDS_V1: ListingThresholds = Object.freeze({
  version: 1,
  prefecture: Object.freeze({ remainingPoorPeopleAbove: 1000, relocationSitePeopleAbove: 1000 }),
  county: Object.freeze({ townshipRemainingPoorAbove: 50, villageIncidencePercentAbove: 1.3 }),
});
export const DEFAULT_LISTING_THRESHOLDS = LISTING_THRESHOLDS_V1;

/** What the thresholds look at, per unit over its subtree. */
export interface UnitPovertyFigures {
  unitId: string;
  level: UnitLevel;
  remainingPoorPeople: number;
  population: number | null;
}

export type ListingCandidateRule =
  | 'listing.threshold.remaining_poor'
  | 'listing.threshold.relocation_site_people'
  | 'listing.threshold.township_remaining_poor'
  | 'listing.threshold.village_incidence';

export interface ListingCandidate {
  unitId: string;
  level: UnitLevel;
  /** The level whose leaders should list it. */
  listedBy: 'prefecture' | 'county';
  rule: ListingCandidateRule;
  value: number;
  threshold: number;
}

/** Remaining poor people per 100 of the population; null without a population. */
export function povertyIncidencePercent(remainingPoorPeople: number, population: number | null): number | null {
  if (population === null || population <= 0) return null;
  return (remainingPoorPeople / population) * 100;
}

/** Every unit that meets a threshold, once per rule it meets. */
export function listingCandidates(units: readonly UnitPovertyFigures[], thresholds: ListingThresholds): ListingCandidate[] {
  const out: ListingCandidate[] = [];
  const { prefecture, county } = thresholds;
  for (const u of units) {
    const add = (listedBy: ListingCandidate['listedBy'], rule: ListingCandidateRule, value: number, threshold: number) => {
      if (value > threshold) out.push({ unitId: u.unitId, level: u.level, listedBy, rule, value, threshold });
    };
    if (u.level === 'relocation_site') {
      if (u.population !== null) add('prefecture', 'listing.threshold.relocation_site_people', u.population, prefecture.relocationSitePeopleAbove);
      continue;
    }
    if (u.level === 'prefecture') continue;
    add('prefecture', 'listing.threshold.remaining_poor', u.remainingPoorPeople, prefecture.remainingPoorPeopleAbove);
    if (u.level === 'township') add('county', 'listing.threshold.township_remaining_poor', u.remainingPoorPeople, county.townshipRemainingPoorAbove);
    const incidence = povertyIncidencePercent(u.remainingPoorPeople, u.population);
    if (u.level === 'village' && incidence !== null) {
      add('county', 'listing.threshold.village_incidence', incidence, county.villageIncidencePercentAbove);
    }
  }
  return out;
}
