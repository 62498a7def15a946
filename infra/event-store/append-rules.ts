import type { NewEvent } from '../../events/envelope.js';
import { newEventMetadataSchema } from '../../events/envelope.js';
import { invalid } from '../../events/errors.js';
import { type ExpectedRevision, WrongExpectedVersionError } from '../../services/ports/event-store.js';
import { assertDistinctEventIds } from './idempotency.js';

/** Rules every adapter applies to an append before touching its store. */

export function checkExpected(streamId: string, expected: ExpectedRevision, current: number): void {
  const ok =
    expected.kind === 'any' ||
    (expected.kind === 'noStream' && current === -1) ||
    (expected.kind === 'streamExists' && current >= 0) ||
    (expected.kind === 'exact' && expected.revision === current);
  if (!ok) throw new WrongExpectedVersionError(streamId, expected, current);
}

export function validateNewEvents(streamId: string, events: readonly NewEvent[]): void {
  if (typeof streamId !== 'string' || streamId.length === 0) throw invalid('store.stream_id', 'stream id must be a non-empty string');
  if (events.length === 0) throw invalid('store.empty_append', `append to ${streamId} carries no events`);
  for (const event of events) {
    if (typeof event.type !== 'string' || event.type.length === 0) throw invalid('store.event_type', 'event type must be a non-empty string');
    const parsed = newEventMetadataSchema.safeParse(event.metadata);
    if (!parsed.success) {
      throw invalid('store.event_metadata', `event ${event.type} has invalid metadata`, { issues: parsed.error.issues });
    }
  }
  assertDistinctEventIds(events);
}
