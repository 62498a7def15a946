import { ancestorsOf, type HierarchyView, type UnitLevel } from '../unit/hierarchy.js';

// 州 above 县/市 above 乡/镇 above 村; a relocation site sits beside a village.
const rank: Record<UnitLevel, number> = { prefecture: 0, county: 1, township: 2, village: 3, relocation_site: 3 };

/**
 * The units an overdue item escalates to, level 1 first: the unit's ancestors up to and including the
 * first at the policy's top level, never one above it. A unit that already sits at or above the top level
 * has an empty ladder.
 */
export function escalationLadder(hierarchy: HierarchyView, unitId: string, topLevel: UnitLevel): string[] {
  const ladder: string[] = [];
  for (const ancestor of ancestorsOf(hierarchy, unitId)) {
    const level = hierarchy.levelOf(ancestor);
    if (level === undefined || rank[level] < rank[topLevel]) break;
    ladder.push(ancestor);
    if (level === topLevel) break;
  }
  return ladder;
}

/**
 * Who verifies a submitted rectification: the responsible unit's parent, the nearest unit strictly above
 * it (so one that may clear it). Undefined for a root.
 */
export const verifierOf = (hierarchy: HierarchyView, responsibleUnitId: string): string | undefined =>
  ancestorsOf(hierarchy, responsibleUnitId)[0];
