import {
  eventTypeFilter,
  excludeSystemEvents,
  type Filter,
  type Position,
  type ReadPosition,
  START,
  StreamDeletedError as EsdbStreamDeletedError,
  StreamNotFoundError as EsdbStreamNotFoundError,
  streamNameFilter,
} from '@eventstore/db-client';
import type { RecordedEvent } from '../../events/envelope.js';
import { type EventFilter, StreamDeletedError, StreamNotFoundError } from '../../services/ports/event-store.js';

/**
 * EventStoreDB's words turned into ours, without a server: positions, filters, errors and the reserved
 * id-index streams. Pure, so test/infra/eventstoredb-mapping.unit.test.ts checks each without one.
 */

/**
 * $all is ordered by (commit, prepare). Our position is one bigint that must keep that order, fit the
 * signed 64 bits every checkpoint store keeps (SQLite INTEGER, `\d{1,19}` in the API), and give back the
 * exact pair to resume from: commit in the high bits, prepare's distance from commit in the low ones.
 * The events of one append lie within one append's bytes of each other (maxAppendSize, 1 MiB by
 * default), so a distance of ±4 MiB is room enough; commit has 40 bits, a 1 TiB transaction log.
 * Anything outside is refused loudly rather than folded onto another event's position.
 */
const DELTA_BITS = 23n;
const DELTA_SPAN = 1n << DELTA_BITS;
const DELTA_BIAS = DELTA_SPAN >> 1n;
const MAX_COMMIT = (1n << (63n - DELTA_BITS)) - 1n;

export function encodePosition(position: Position): bigint {
  const delta = position.prepare - position.commit;
  if (position.commit < 0n || position.commit > MAX_COMMIT || delta < -DELTA_BIAS || delta >= DELTA_BIAS) {
    throw new Error(
      `EventStoreDB position {commit: ${position.commit}, prepare: ${position.prepare}} is outside what a Duban position can hold ` +
        `(commit up to ${MAX_COMMIT}, prepare within ${DELTA_BIAS} bytes of it)`,
    );
  }
  return (position.commit << DELTA_BITS) + delta + DELTA_BIAS;
}

export function decodePosition(position: bigint): Position {
  if (position < 0n) throw new Error(`position ${position} is not an EventStoreDB position`);
  const commit = position >> DELTA_BITS;
  return { commit, prepare: commit + (position & (DELTA_SPAN - 1n)) - DELTA_BIAS };
}

/** Where a read or subscription starts for "strictly after `checkpoint`": the exact pair of that event. */
export function resumeFrom(checkpoint: bigint | undefined): ReadPosition {
  return checkpoint === undefined || checkpoint < 0n ? START : decodePosition(checkpoint);
}

/** $all's order on raw pairs (bounds are raw: the newest record may be a system one of any shape). */
export const comparePositions = (a: Position, b: Position): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;

/**
 * Every event id is reserved in a stream of its own, written with expectedRevision NO_STREAM, so an id can
 * name events of one stream only (the server de-duplicates ids per stream, never across streams). The
 * stream is no `$` one (those need admin rights in a secured cluster); its event type starts with `$`, so
 * every system-event filter, the server's and ours, leaves it out of $all reads.
 */
export const ID_INDEX_PREFIX = 'duban-id-';
export const ID_INDEX_TYPE = '$duban-id';
export const idIndexStream = (eventId: string) => `${ID_INDEX_PREFIX}${eventId}`;

export const isSystem = (streamId: string, type: string) => streamId.startsWith('$') || type.startsWith('$');

/** Our filter, applied to what the server sent (it filters on names or on types, never both). */
export function matches(event: Pick<RecordedEvent, 'streamId' | 'type'>, filter: EventFilter | undefined): boolean {
  if (isSystem(event.streamId, event.type) || event.streamId.startsWith(ID_INDEX_PREFIX)) return false;
  if (filter?.streamPrefixes && !filter.streamPrefixes.some((p) => event.streamId.startsWith(p))) return false;
  if (filter?.types && !filter.types.includes(event.type)) return false;
  return true;
}

// .NET's regex syntax escapes the same characters as JavaScript's for these.
const escapeRegex = (text: string) => text.replace(/[\\^$.*+?()[\]{}|#\s-]/g, (c) => (/\s/.test(c) ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : `\\${c}`));

/**
 * The server-side half of a filter: stream prefixes when there are any (the narrower cut for our
 * streams, and it never matches a system or id-index stream unless a prefix does), else the exact types
 * as one anchored regex, else everything but system events. `matches` does the rest on our side.
 */
export function serverFilter(filter: EventFilter | undefined): Filter {
  const prefixes = filter?.streamPrefixes ?? [];
  if (prefixes.length > 0) return streamNameFilter({ prefixes: [...prefixes] });
  const types = filter?.types ?? [];
  if (types.length > 0) return eventTypeFilter({ regex: `^(?:${types.map(escapeRegex).join('|')})$` });
  return excludeSystemEvents();
}

/**
 * The vendor's read errors in our words: a missing stream, or one deleted behind Duban's back (Duban
 * never deletes): tombstoned ones answer StreamDeletedError; soft-deleted ones read as missing and are
 * refused on append by the adapter.
 */
export function translateReadError(error: unknown, streamId: string): unknown {
  if (error instanceof EsdbStreamDeletedError) return new StreamDeletedError(streamId, 'tombstoned');
  if (error instanceof EsdbStreamNotFoundError) return new StreamNotFoundError(streamId);
  return error;
}

/** Soft deletion leaves `$tb` (truncateBefore) on the stream's metadata; appending would revive it mid-count. */
export const softDeleted = (metadata: { truncateBefore?: unknown } | undefined): boolean =>
  metadata?.truncateBefore !== undefined && metadata.truncateBefore !== null;
