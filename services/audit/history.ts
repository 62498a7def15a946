import type { RecordedEvent } from '../../events/envelope.js';
import { ChainVerifier } from '../../infra/event-store/audit-chain.js';
import type { AuditService } from './service.js';

/** One event as a history shows it: where it is, what it says, who did it and when. */
export const historyEventOf = (e: RecordedEvent) => ({
  position: e.position.toString(),
  revision: e.revision,
  type: e.type,
  data: e.data,
  actor: e.metadata.actor,
  occurredAt: e.metadata.occurredAt,
  recordedAt: e.metadata.recordedAt,
  eventId: e.metadata.eventId,
  correlationId: e.metadata.correlationId,
  causationId: e.metadata.causationId,
  hash: e.metadata.hash,
  prevHash: e.metadata.prevHash,
});

/**
 * A stream's whole history for inspectors: every event with its actor and times, the stream's own hash
 * chain, and its comparison with the audit tree (which also shows events deleted from the stream).
 */
export async function streamHistory(events: readonly RecordedEvent[], audit: AuditService | undefined) {
  const verifier = new ChainVerifier();
  let chain: { ok: boolean; checked: number; brokenAt?: { streamId: string; revision: number; position: string; reason: string } } = { ok: true, checked: 0 };
  for (const event of events) {
    const broken = verifier.check(event);
    if (broken) {
      chain = { ok: false, checked: broken.checked, brokenAt: { ...broken.brokenAt, position: broken.brokenAt.position.toString() } };
      break;
    }
    chain = { ok: true, checked: verifier.checked };
  }
  const tree = audit && events[0] ? await audit.verifyStream(events[0].streamId, events) : null;
  return {
    events: events.map(historyEventOf),
    verification: {
      ok: chain.ok && (tree?.ok ?? true),
      chain,
      auditTree: tree,
    },
  };
}
