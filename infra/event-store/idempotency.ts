import type { NewEvent } from '../../events/envelope.js';
import { DubanError, invalid } from '../../events/errors.js';
import type { AppendResult } from '../../services/ports/event-store.js';
import { canonicalJson } from './audit-chain.js';

/** What a store already holds under one event id. */
export interface StoredEventRef {
  streamId: string;
  revision: number;
  position: bigint;
  type: string;
  /** Canonical JSON of the stored data. */
  dataText: string;
  /** Its hash link, as stored. */
  hash: string;
}

/** Refuses a batch that names the same event id twice: it could never be stored as asked. */
export function assertDistinctEventIds(events: readonly NewEvent[]): void {
  if (events.length < 2) return;
  const seen = new Set<string>();
  for (const event of events) {
    const id = event.metadata.eventId;
    if (seen.has(id)) throw invalid('store.duplicate_event_id_in_batch', `event id ${id} appears twice in one append`);
    seen.add(id);
  }
}

/**
 * Decides what an append means when some of its event ids are already stored (looked up in `stored`).
 *
 * - none stored: undefined, the append proceeds normally;
 * - all stored in this stream with the same type and data: a repeat of an acknowledged append; nothing
 *   is written and the original result comes back (revision and position of the last of these events),
 *   whatever the expected revision says, because the stream has moved on since the first attempt;
 * - anything else (some stored and some new, stored in another stream, or the same id with other
 *   content) is refused as a conflict and nothing is written. Storing only the new part would silently
 *   split what the caller asked to be atomic, and reusing an id for other content is a bug upstream.
 */
export function resolveRepeatedAppend(
  streamId: string,
  events: readonly NewEvent[],
  stored: ReadonlyMap<string, StoredEventRef>,
): AppendResult | undefined {
  if (stored.size === 0) return undefined;
  const newIds = events.filter((e) => !stored.has(e.metadata.eventId)).map((e) => e.metadata.eventId);
  if (newIds.length > 0) {
    throw new DubanError(
      'conflict',
      'store.partial_repeat',
      `append to ${streamId} mixes ${stored.size} already stored event(s) with ${newIds.length} new one(s); nothing was written`,
      { streamId, storedEventIds: [...stored.keys()], newEventIds: newIds },
    );
  }
  let last: StoredEventRef | undefined;
  const hashes: string[] = [];
  for (const event of events) {
    const ref = stored.get(event.metadata.eventId)!; // every id is stored: checked above
    if (ref.streamId !== streamId) {
      throw new DubanError(
        'conflict',
        'store.event_id_in_other_stream',
        `event ${event.metadata.eventId} is already stored in stream ${ref.streamId}`,
        { streamId, eventId: event.metadata.eventId, storedIn: ref.streamId },
      );
    }
    if (ref.type !== event.type || ref.dataText !== canonicalJson(event.data)) {
      throw new DubanError(
        'conflict',
        'store.event_id_reused',
        `event id ${event.metadata.eventId} is already stored with other content`,
        { streamId, eventId: event.metadata.eventId },
      );
    }
    if (!last || ref.revision > last.revision) last = ref;
    hashes.push(ref.hash);
  }
  return { nextRevision: last!.revision, position: last!.position, hashes };
}
