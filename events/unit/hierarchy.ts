import { z } from 'zod';

export const unitLevels = ['prefecture', 'county', 'township', 'village', 'relocation_site'] as const;
export const unitLevelSchema = z.enum(unitLevels);
export type UnitLevel = z.infer<typeof unitLevelSchema>;

/**
 * Read-only view of the unit tree, supplied to deciders by the caller (built from unit events).
 * `undefined` means the unit is unknown; `null` parent means a root.
 */
export interface HierarchyView {
  parentOf(unitId: string): string | null | undefined;
  levelOf(unitId: string): UnitLevel | undefined;
}

/** Which parent levels each level may hang under (州 > 县/市 > 乡/镇 > 行政村; 安置点 under 县 or 乡). */
export const allowedParentLevels: Record<UnitLevel, readonly UnitLevel[]> = {
  prefecture: [],
  county: ['prefecture'],
  township: ['county'],
  village: ['township'],
  relocation_site: ['county', 'township'],
};

export const isKnownUnit = (hierarchy: HierarchyView, unitId: string) => hierarchy.levelOf(unitId) !== undefined;

/** Ancestors of a unit, nearest first, up to the root. Stops on a cycle rather than looping. */
export function ancestorsOf(hierarchy: HierarchyView, unitId: string): string[] {
  const ancestors: string[] = [];
  const seen = new Set<string>([unitId]);
  let current = hierarchy.parentOf(unitId);
  while (typeof current === 'string' && !seen.has(current)) {
    ancestors.push(current);
    seen.add(current);
    current = hierarchy.parentOf(current);
  }
  return ancestors;
}

/** True when `a` is a proper ancestor of `b`. */
export const isStrictlyAbove = (hierarchy: HierarchyView, a: string, b: string) =>
  a !== b && ancestorsOf(hierarchy, b).includes(a);

/** True when `unitId` is `subtreeRoot` itself or lies beneath it. */
export const isWithin = (hierarchy: HierarchyView, subtreeRoot: string, unitId: string) =>
  subtreeRoot === unitId || isStrictlyAbove(hierarchy, subtreeRoot, unitId);

/** An in-memory hierarchy, for tests and for callers that hold the unit list. */
export function hierarchyFromUnits(
  units: Iterable<{ unitId: string; parentId: string | null; level: UnitLevel }>,
): HierarchyView & { units: ReadonlyMap<string, { parentId: string | null; level: UnitLevel }> } {
  const map = new Map<string, { parentId: string | null; level: UnitLevel }>();
  for (const u of units) map.set(u.unitId, { parentId: u.parentId, level: u.level });
  return {
    units: map,
    parentOf: (unitId) => map.get(unitId)?.parentId,
    levelOf: (unitId) => map.get(unitId)?.level,
  };
}
