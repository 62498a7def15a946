import type { EventStore } from '../ports/event-store.js';
import type { AppendWitness, AuditLog } from '../ports/audit-log.js';
import { linkWitnessMac } from './leaf.js';

/**
 * The event store as Duban's writers see it: every append, once the store has taken it, leaves the
 * writer's witness of each event (a MAC of the hash link the store answered) in the audit log, one record per
 * append by the position of its last event, so the sealer can tell an event Duban wrote from one written into
 * the store behind its back. Reads pass through untouched.
 *
 * An append resolves only once its witnesses are written. The appends a group commit acknowledges together
 * resume in one run of microtasks: their witnesses are written together, in one transaction of the audit log,
 * queued behind them (one commit per group instead of one per append); if it fails, each of them rejects.
 */
export function witnessAppends(store: EventStore, log: AuditLog, witnessKey: Buffer, onAppended?: () => void): EventStore {
  // The witnesses of the appends resumed in this run of microtasks, and the one write that takes them all.
  let open: { witnesses: AppendWitness[]; written: Promise<void> } | undefined;
  function witness(append: AppendWitness): Promise<void> {
    if (open) {
      open.witnesses.push(append);
      return open.written;
    }
    const witnesses = [append];
    // A microtask queued behind the appends resumed with this one; a throw rejects every append of the batch.
    const written = Promise.resolve().then(() => {
      open = undefined;
      log.addWitnesses(witnesses);
    });
    open = { witnesses, written };
    return written;
  }
  return {
    ...store,
    append: async (streamId, events, expectedRevision) => {
      const result = await store.append(streamId, events, expectedRevision);
      const first = result.nextRevision - events.length + 1;
      await witness({ lastPosition: result.position, streamId, firstRevision: first, macs: result.hashes.map((hash) => linkWitnessMac(witnessKey, hash)) });
      onAppended?.();
      return result;
    },
  };
}
