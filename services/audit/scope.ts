import { isAuthorized } from '../../events/access.js';
import type { Actor, RecordedEvent } from '../../events/envelope.js';
import type { AuditLog } from '../ports/audit-log.js';
import { type EventStore, StreamNotFoundError } from '../ports/event-store.js';
import type { HierarchyView } from '../../events/unit/hierarchy.js';

/** Units a stream belongs to, read from the event that opens it; undefined for a type that opens none. */
export function unitsOpenedBy(event: { type: string; data: unknown }): string[] | undefined {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const pick = (...keys: string[]) => keys.map((k) => data[k]).filter((v): v is string => typeof v === 'string');
  switch (event.type) {
    case 'UnitRegistered':
      return pick('unitId');
    case 'HouseholdRegistered':
      return pick('villageId');
    case 'TargetListed':
      return pick('targetUnitId', 'supervisingUnitId');
    case 'ProblemFound':
      return pick('targetUnitId', 'responsibleUnitId');
    case 'MonthlyReviewCompiled':
    case 'DailyReportCompiled':
      return pick('unitId');
    default:
      return undefined;
  }
}

/** May the actor read a stream belonging to these units? */
export function mayRead(actor: Actor, units: readonly string[], hierarchy: HierarchyView): boolean {
  return units.some((unitId) => isAuthorized(actor, 'read', [unitId], hierarchy));
}

/** A top-level reader (admin or inspector of a root unit) may verify and export the whole log. */
export function readsWholeLog(actor: Actor, hierarchy: HierarchyView): boolean {
  return (actor.role === 'admin' || actor.role === 'inspector') && hierarchy.parentOf(actor.unitId) === null;
}

/**
 * Every stream the audit tree knows in the actor's subtree, with the events the store holds for it now
 * in position order (none when the stream is gone: its leaves then tell what was there).
 */
export async function* streamsInScope(
  store: EventStore,
  log: AuditLog,
  actor: Actor,
  hierarchy: HierarchyView,
): AsyncGenerator<{ streamId: string; events: RecordedEvent[] }> {
  for (const { streamId, units } of log.streams()) {
    if (!mayRead(actor, units, hierarchy)) continue;
    let events: RecordedEvent[] = [];
    try {
      events = await store.readStream(streamId);
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    events.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
    yield { streamId, events };
  }
}
