import type { RecordedEvent } from '../events/envelope.js';
import { decodeEvent } from '../events/registry.js';
import type { UnitLevel } from '../events/unit/hierarchy.js';
import { unitStreamId } from '../events/unit/events.js';
import { StreamNotFoundError, type EventStore } from '../services/ports/event-store.js';

export interface UnitNode {
  unitId: string;
  level: UnitLevel;
  parentId: string | null;
}

/** Reads one unit from its own stream, as it is now. */
export async function readUnit(store: EventStore, unitId: string): Promise<UnitNode | undefined> {
  let events: RecordedEvent[];
  try {
    events = await store.readStream(unitStreamId(unitId));
  } catch (err) {
    if (err instanceof StreamNotFoundError) return undefined;
    throw err;
  }
  let unit: UnitNode | undefined;
  for (const e of events) {
    const decoded = decodeEvent(e.type, e.metadata.schemaVersion, e.data);
    if (decoded.type === 'UnitRegistered') {
      unit = { unitId: decoded.data.unitId, level: decoded.data.level, parentId: decoded.data.parentId };
    }
  }
  return unit;
}

/**
 * The escalation ladder of a unit as the hierarchy stands now: its ancestors, nearest first, up to and
 * including the first at the policy's top level. Also returns every unit read, for the decider's view.
 */
export async function escalationLadder(
  store: EventStore,
  responsibleUnitId: string,
  topLevel: UnitLevel,
): Promise<{ ladder: UnitNode[]; units: UnitNode[] }> {
  const units: UnitNode[] = [];
  const ladder: UnitNode[] = [];
  const start = await readUnit(store, responsibleUnitId);
  if (start) units.push(start);
  let parentId = start?.parentId ?? null;
  const seen = new Set([responsibleUnitId]);
  while (parentId !== null && !seen.has(parentId)) {
    seen.add(parentId);
    const parent = await readUnit(store, parentId);
    if (!parent) break;
    units.push(parent);
    ladder.push(parent);
    if (parent.level === topLevel) break;
    parentId = parent.parentId;
  }
  return { ladder, units };
}

