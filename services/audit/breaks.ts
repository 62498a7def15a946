import { hashHolds } from '../../infra/event-store/audit-chain.js';
import type { RecordedEvent } from '../../events/envelope.js';
import type { SealedLeaf } from '../ports/audit-log.js';

/** What changed in an event since its leaf was sealed, in words. */
export function describeChange(leaf: Pick<SealedLeaf, 'streamId' | 'revision' | 'eventId' | 'index'>, event: RecordedEvent): string {
  const parts: string[] = [];
  if (leaf.streamId !== event.streamId) parts.push(`it was sealed in stream ${leaf.streamId}`);
  if (leaf.revision !== event.revision) parts.push(`it was sealed as revision ${leaf.revision}, the store now says ${event.revision}`);
  if (leaf.eventId !== event.metadata?.eventId) parts.push(`it was sealed as event ${leaf.eventId}`);
  if (parts.length === 0) parts.push('its type, data or metadata changed after it was sealed');
  const link = hashHolds(event)
    ? 'its hash link was recomputed to match, so only the audit tree shows it'
    : 'its hash link no longer matches its content';
  return `does not match leaf ${leaf.index} of the audit tree: ${parts.join('; ')}; ${link}`;
}

export function missingReason(leaf: Pick<SealedLeaf, 'streamId' | 'revision' | 'index'>): string {
  return `deleted: sealed as leaf ${leaf.index} (stream ${leaf.streamId}, revision ${leaf.revision}), no longer in the event store`;
}

export const UNSEALED_REASON = 'in the event store but never sealed in the audit tree: written behind Duban\'s back';

