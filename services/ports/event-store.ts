import type { NewEvent, RecordedEvent } from '../../events/envelope.js';
import { DubanError } from '../../events/errors.js';

/**
 * The event store in our own words. Adapters (infra/sqlite, infra/eventstoredb) translate the vendor's
 * revisions, positions and errors into these types; nothing above this port knows which store runs.
 *
 * Revisions count from 0 within a stream; `position` orders all events of the store ($all) and is what
 * checkpoints hold.
 */
export type ExpectedRevision =
  | { kind: 'any' }
  | { kind: 'noStream' }
  | { kind: 'streamExists' }
  | { kind: 'exact'; revision: number };

export const expected = {
  any: { kind: 'any' } as ExpectedRevision,
  noStream: { kind: 'noStream' } as ExpectedRevision,
  streamExists: { kind: 'streamExists' } as ExpectedRevision,
  exact: (revision: number): ExpectedRevision => ({ kind: 'exact', revision }),
};

export interface AppendResult {
  /** Revision of the last event of the stream after this append. */
  nextRevision: number;
  /** Position of the last event written (or, for a repeated append, of the original). */
  position: bigint;
  /** The hash link of each event of the append, in order (for a repeated append, the stored ones). */
  hashes: string[];
}

export interface EventFilter {
  /** Only streams whose id starts with one of these prefixes (e.g. `problem-`). */
  streamPrefixes?: readonly string[];
  /** Only these event types. */
  types?: readonly string[];
}

export interface ReadStreamOptions {
  /** First revision to read (inclusive). Default: start (forwards) or end (backwards). */
  from?: number;
  direction?: 'forwards' | 'backwards';
  limit?: number;
}

export interface ReadAllOptions {
  /** Read events strictly after this position. Default: from the beginning. */
  fromPosition?: bigint;
  filter?: EventFilter;
  /** Read up to and including this position (inspections "as of"). */
  toPosition?: bigint;
}

export interface SubscribeOptions {
  /** Deliver events strictly after this checkpoint. Default: from the beginning. */
  fromCheckpoint?: bigint;
  filter?: EventFilter;
}

/** Catches up from the checkpoint, then goes live; no gap and no duplicate across the switch. */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

export type VerificationResult =
  | { ok: true; checked: number }
  | { ok: false; checked: number; brokenAt: { streamId: string; revision: number; position: bigint; reason: string } };

export interface EventStore {
  /**
   * Appends atomically. An event whose `eventId` is already stored is never stored again: appending it
   * again, at any later time, returns the original result.
   */
  append(streamId: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult>;
  /** Throws StreamNotFoundError for a stream with no events. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  subscribeToAll(options?: SubscribeOptions): Subscription;
  /** Position of the newest event, or -1n for an empty store. */
  headPosition(): Promise<bigint>;
  verifyStream(streamId: string): Promise<VerificationResult>;
  verifyAll(): Promise<VerificationResult>;
  /**
   * Events after `position`, counted up to `atMost` (the answer is then `atMost`): lag in events, for a
   * store whose positions are not event numbers (EventStoreDB's are byte offsets). Stores whose positions
   * count events leave it out, and the difference of two positions is the count.
   */
  eventsAfter?(position: bigint, atMost: number): Promise<number>;
  /** Round trip for health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How far `checkpoint` is behind `head`, in events: counted by the store where positions are not event numbers. */
export async function eventsBehind(store: EventStore, head: bigint, checkpoint: bigint, atMost = 10_000): Promise<number> {
  if (head <= checkpoint) return 0;
  return store.eventsAfter ? store.eventsAfter(checkpoint, atMost) : Number(head - checkpoint);
}

export class WrongExpectedVersionError extends DubanError {
  constructor(
    readonly streamId: string,
    readonly expectedRevision: ExpectedRevision,
    /** Current revision, or -1 when the stream does not exist. */
    readonly actualRevision: number,
  ) {
    super('conflict', 'store.wrong_expected_version', `stream ${streamId} is at revision ${actualRevision}`, {
      streamId,
      actualRevision,
    });
  }
}

export class StreamNotFoundError extends DubanError {
  constructor(
    readonly streamId: string,
    rule = 'store.stream_not_found',
    message = `stream ${streamId} not found`,
  ) {
    // An answer, not a fault: every new stream is read once before its first append (an import reads tens
    // of thousands), and capturing the stack cost three times the read itself. It carries none.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super('not_found', rule, message, { streamId });
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/**
 * A stream deleted in the store behind Duban's back (Duban itself never deletes). It reads as missing,
 * as every caller of a missing stream expects, and it is never written again: reviving it would restart
 * neither its revisions nor its audit chain where they stopped.
 */
export class StreamDeletedError extends StreamNotFoundError {
  constructor(
    streamId: string,
    readonly deletion: 'soft' | 'tombstoned',
  ) {
    super(streamId, 'store.stream_deleted', `stream ${streamId} was deleted (${deletion}) outside Duban; it cannot be written again`);
  }
}
