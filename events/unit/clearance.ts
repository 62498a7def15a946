/** Counts over a unit's whole subtree, as the unit roll-up ledger keeps them. */
export interface SubtreeCounts {
  problemsOpen: number;
  householdsTotal: number;
  householdsMeetingStandard: number;
  listingsActive: number;
}

/**
 * 户户清 / 村村清 / 县县清: a unit is clear when no problem is open in its subtree, every household beneath
 * it meets the standard, and every listing beneath it is delisted.
 */
export const isClear = (c: SubtreeCounts) =>
  c.problemsOpen === 0 && c.householdsMeetingStandard === c.householdsTotal && c.listingsActive === 0;
