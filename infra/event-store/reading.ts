import type { NewEvent, RecordedEvent } from '../../events/envelope.js';
import type {
  AppendResult,
  EventFilter,
  ExpectedRevision,
  Subscription,
  SubscribeOptions,
  VerificationResult,
} from '../../services/ports/event-store.js';
import { ChainVerifier, storedEvent } from './audit-chain.js';

/** How the SQL stores keep an event: its columns in this order, data and metadata as JSON text. */
export type EventRow = [position: number | string, streamId: string, revision: number, type: string, data: string, metadata: string];
export const EVENT_COLUMNS = 'position, stream_id, revision, type, data, metadata';

export function eventFromRow(row: EventRow): RecordedEvent {
  return storedEvent(row[1], row[2], BigInt(row[0]), row[3], row[4], row[5]);
}

/** An append waiting for its group's commit. */
export interface PendingAppend {
  streamId: string;
  events: readonly NewEvent[];
  expectedRevision: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** One page of $all: events after `after` (and up to `to`), in position order. */
export type ReadBatch = (after: bigint, filter: EventFilter | undefined, to: bigint | undefined) => RecordedEvent[] | Promise<RecordedEvent[]>;

/** Every event after `from` (up to `to`), page by page. */
export async function* readInBatches(
  readBatch: ReadBatch,
  batchSize: number,
  options: { from?: bigint | undefined; filter?: EventFilter | undefined; to?: bigint | undefined; assertOpen: () => void },
): AsyncGenerator<RecordedEvent> {
  const page = (after: bigint) => {
    options.assertOpen();
    const read = Promise.resolve(readBatch(after, options.filter, options.to));
    // Nobody awaits a prefetched page when the reader stops early; its failure is not news then.
    read.catch(() => {});
    return read;
  };
  let next = page(options.from ?? 0n);
  for (;;) {
    const batch = await next;
    // The next page is on its way while the caller works through this one (a server's round trip).
    if (batch.length === batchSize) next = page(batch[batch.length - 1]!.position);
    for (const event of batch) yield event;
    if (batch.length < batchSize) return;
  }
}

/** One page of $all as stored rows: the rows after `after` (and up to `to`), in position order. */
export type ReadRows = (after: bigint, filter: EventFilter | undefined, to: bigint | undefined) => EventRow[];

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Every event after `from` (up to `to`) from a store that reads a page synchronously (SQLite). A page is
 * held as rows and each row becomes an event only when the caller asks for it, so the parsed events die
 * young instead of a thousand of them living through the caller's work on the page; nothing is read
 * ahead, since a synchronous read could not overlap the caller anyway. Written as a plain iterator: an
 * async generator costs several promise turns per event.
 */
export function readRowsInBatches(
  readRows: ReadRows,
  batchSize: number,
  options: { from?: bigint | undefined; filter?: EventFilter | undefined; to?: bigint | undefined; assertOpen: () => void },
): AsyncIterableIterator<RecordedEvent> {
  let rows: EventRow[] = [];
  let index = 0;
  let after = options.from ?? 0n;
  let finished = false;
  const stop = () => {
    finished = true;
    rows = [];
    index = 0;
  };
  const iterator: AsyncIterableIterator<RecordedEvent> = {
    next(): Promise<IteratorResult<RecordedEvent>> {
      try {
        if (index === rows.length) {
          if (finished) return Promise.resolve(DONE);
          options.assertOpen();
          rows = readRows(after, options.filter, options.to);
          index = 0;
          if (rows.length < batchSize) finished = true;
          if (rows.length === 0) return Promise.resolve(DONE);
          after = BigInt(rows[rows.length - 1]![0]);
        }
        return Promise.resolve({ done: false, value: eventFromRow(rows[index++]!) });
      } catch (error) {
        stop();
        return Promise.reject(error as Error);
      }
    },
    return(): Promise<IteratorResult<RecordedEvent>> {
      stop();
      return Promise.resolve(DONE);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

export interface PollingSubscriptionOptions {
  subscribe: SubscribeOptions | undefined;
  readBatch: ReadBatch;
  batchSize: number;
  /**
   * The position of the newest committed event. Only for stores that hand out positions in commit
   * order (nothing can later appear at or below it).
   */
  head: () => bigint | Promise<bigint>;
  /** Resolves when an append may have happened (or on close, or after a while); `isClosed` is this subscription's state. */
  waitForAppend: (isClosed: () => boolean) => Promise<void>;
  storeClosed: () => boolean;
  /** Called when the subscription is closed, to wake waits it may be in. */
  onClose?: () => void;
  onScan?: ((after: bigint) => void) | undefined;
}

/**
 * Catch-up and live are the same loop: always "everything after the last delivered position", so the
 * switch can neither skip nor repeat an event.
 */
export function pollingSubscription(options: PollingSubscriptionOptions): Subscription {
  const { readBatch, batchSize, subscribe } = options;
  let closed = false;
  let wakeNow: (() => void) | undefined;
  const isClosed = () => closed;
  async function* deliver(): AsyncGenerator<RecordedEvent> {
    let after = subscribe?.fromCheckpoint ?? 0n;
    const filtered = (subscribe?.filter?.streamPrefixes?.length ?? 0) + (subscribe?.filter?.types?.length ?? 0) > 0;
    while (!options.storeClosed() && !closed) {
      options.onScan?.(after);
      // A filtered read is bounded by the head read first: nothing can later appear at or below it, so a
      // short batch proves every matching event up to it was read. The next query then starts there
      // instead of rescanning the non-matching events since the last match.
      const head = filtered ? await options.head() : undefined;
      const batch = await readBatch(after, subscribe?.filter, head);
      for (const event of batch) {
        if (closed) return;
        yield event;
        after = event.position;
      }
      if (head !== undefined && batch.length < batchSize && head > after) after = head;
      if (batch.length === 0) {
        await new Promise<void>((resolve) => {
          wakeNow = resolve;
          void options.waitForAppend(isClosed).then(resolve);
        });
      }
    }
  }
  const iterator = deliver();
  return {
    [Symbol.asyncIterator]: () => iterator,
    async close() {
      closed = true;
      wakeNow?.();
      options.onClose?.();
      await iterator.return(undefined);
    },
  };
}

/** Recomputes the chain over events in stream order (per stream) and reports the first broken link. */
export async function verifyEvents(events: Iterable<RecordedEvent> | AsyncIterable<RecordedEvent>): Promise<VerificationResult> {
  const verifier = new ChainVerifier();
  for await (const event of events) {
    const broken = verifier.check(event);
    if (broken) return broken;
  }
  return { ok: true, checked: verifier.checked };
}

/** A stream's events page by page, for verification; a stream with no events is refused by `missing`. */
export async function* streamInBatches(
  page: (from: number) => EventRow[] | Promise<EventRow[]>,
  batchSize: number,
  missing: () => Error,
): AsyncGenerator<RecordedEvent> {
  let from = 0;
  for (;;) {
    const rows = await page(from);
    if (rows.length === 0 && from === 0) throw missing();
    for (const row of rows) yield eventFromRow(row);
    if (rows.length < batchSize) return;
    from = rows[rows.length - 1]![2] + 1;
  }
}
