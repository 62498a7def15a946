import type { EventStore } from '../ports/event-store.js';
import type { AuditLog } from '../ports/audit-log.js';
import { witnessMac } from './leaf.js';

/**
 * The event store as Duban's writers see it: every append, once the store has taken it, leaves the
 * writer's witness of each event in the audit log, so the sealer can tell an event Duban wrote from one
 * written into the store behind its back. Reads pass through untouched.
 */
export function witnessAppends(store: EventStore, log: AuditLog, witnessKey: Buffer, onAppended?: () => void): EventStore {
  return {
    ...store,
    append: async (streamId, events, expectedRevision) => {
      const result = await store.append(streamId, events, expectedRevision);
      const first = result.nextRevision - events.length + 1;
      log.addWitnesses(
        events.map((event, i) => ({ eventId: event.metadata.eventId, mac: witnessMac(witnessKey, streamId, first + i, event) })),
      );
      onAppended?.();
      return result;
    },
  };
}
