import type { UnitLevel } from './hierarchy.js';

/** Counts over a unit's whole subtree, as the unit roll-up ledger keeps them. */
export interface SubtreeCounts {
  problemsOpen: number;
  householdsTotal: number;
  householdsMeetingStandard: number;
  listingsActive: number;
}

/**
 * A unit is clear when no problem is open in its subtree, every household beneath it meets the standard,
 * and every listing beneath it is delisted.
 */
export const isClear = (c: SubtreeCounts) =>
  c.problemsOpen === 0 && c.householdsMeetingStandard === c.householdsTotal && c.listingsActive === 0;

export type ClearanceFlag = '户户清' | '村村清' | '县县清';

/**
 * The flag names the level that is all clear beneath the unit: a village is 户户清 (all its households),
 * a township or county 村村清 (all villages beneath it), a prefecture 县县清 (all its counties). A
 * relocation site carries no flag.
 */
export const clearanceFlags: Record<UnitLevel, ClearanceFlag | null> = {
  village: '户户清',
  township: '村村清',
  county: '村村清',
  prefecture: '县县清',
  relocation_site: null,
};
