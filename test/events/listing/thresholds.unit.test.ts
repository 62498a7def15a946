import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LISTING_THRESHOLDS,
  listingCandidates,
  listingThresholdsSchema,
  povertyIncidencePercent,
  type UnitPovertyFigures,
} from '../../../events/listing/index.js';

const unit = (unitId: string, level: UnitPovertyFigures['level'], remainingPoorPeople: number, population: number | null = null): UnitPovertyFigures => ({
  unitId,
  level,
  remainingPoorPeople,
  population,
});

describe('listing thresholds (州级督战、市县作战)', () => {
  it('are the report’s figures, as versioned data', () => {
    expect(listingThresholdsSchema.parse(DEFAULT_LISTING_THRESHOLDS)).toEqual({
      version: 1,
      prefecture: { remainingPoorPeopleAbove: 1000, relocationSitePeopleAbove: 1000 },
      county: { townshipRemainingPoorAbove: 50, villageIncidencePercentAbove: 1.3 },
    });
    expect(Object.isFrozen(DEFAULT_LISTING_THRESHOLDS.county)).toBe(true);
  });

  it('name units strictly above each threshold, with the level that should list them', () => {
    const candidates = listingCandidates(
      [
        unit('county-a', 'county', 1001),
        unit('county-b', 'county', 1000),
        unit('township-a', 'township', 51),
        unit('township-b', 'township', 50),
        unit('village-a', 'village', 14, 1000),
        unit('village-b', 'village', 13, 1000),
        unit('village-c', 'village', 99, null),
        unit('site-a', 'relocation_site', 0, 1001),
        unit('site-b', 'relocation_site', 0, 1000),
        unit('prefecture', 'prefecture', 5000, 10),
      ],
      DEFAULT_LISTING_THRESHOLDS,
    );
    expect(candidates.map((c) => [c.unitId, c.listedBy, c.rule])).toEqual([
      ['county-a', 'prefecture', 'listing.threshold.remaining_poor'],
      ['township-a', 'county', 'listing.threshold.township_remaining_poor'],
      ['village-a', 'county', 'listing.threshold.village_incidence'],
      ['site-a', 'prefecture', 'listing.threshold.relocation_site_people'],
    ]);
  });

  it('measure incidence against the registered population', () => {
    expect(povertyIncidencePercent(1129, 100_000)).toBeCloseTo(1.129);
    expect(povertyIncidencePercent(5, null)).toBeNull();
    expect(povertyIncidencePercent(5, 0)).toBeNull();
  });
});
