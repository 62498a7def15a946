import {
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  BACKWARDS,
  END,
  EventStoreDBClient,
  excludeSystemEvents,
  type Filter,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  type ResolvedEvent,
  START,
  StreamDeletedError as EsdbStreamDeletedError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
} from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import type { NewEvent, RecordedEvent, RecordedEventMetadata } from '../../events/envelope.js';
import { DubanError } from '../../events/errors.js';
import {
  type AppendResult,
  type EventStore,
  type ReadAllOptions,
  type SubscribeOptions,
  type Subscription,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../../services/ports/event-store.js';
import { checkExpected, validateNewEvents } from '../event-store/append-rules.js';
import { canonicalJson, linkEvent } from '../event-store/audit-chain.js';
import { resolveRepeatedAppend, type StoredEventRef } from '../event-store/idempotency.js';
import { verifyEvents } from '../event-store/reading.js';
import {
  encodePosition,
  ID_INDEX_TYPE,
  idIndexStream,
  matches,
  resumeFrom,
  serverFilter,
  softDeleted,
  translateReadError,
} from './mapping.js';

export interface EventStoreDbOptions {
  /** e.g. `esdb://localhost:2113?tls=false`. */
  connectionString: string;
  /** Attempts when another writer moves the stream between our read and our conditional write. */
  maxAppendAttempts?: number;
  now?: () => Date;
}

const NO_POSITION = (1n << 63n) - 1n;

function toRecorded(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event;
  // Links and binary events are not ours (we write JSON events only and never resolve links).
  if (!event || event.isJson !== true) return undefined;
  // Without a position (or with the all-ones "none" some servers send on stream reads) the event cannot be placed in $all.
  if (!event.position || event.position.commit >= NO_POSITION) {
    throw new Error(`EventStoreDB sent ${event.streamId}@${event.revision} without its $all position; Duban needs a server that reports positions on every read`);
  }
  return {
    streamId: event.streamId,
    revision: Number(event.revision),
    position: encodePosition(event.position),
    type: event.type,
    data: event.data as unknown,
    metadata: event.metadata as unknown as RecordedEventMetadata,
  };
}

/**
 * A filtered catch-up subscription ended where it caught up: $all has no filtered read, so this is the
 * server-side filtered read. The client emits `caughtUp` while transforming the server's caught-up
 * message; the transform runs message by message and synchronously (we pass no checkpoint callback), so
 * at that moment every event sent before it has been handed to us or sits in the subscription's buffer,
 * and none after it has. Those are counted then, and the read ends after the last of them: no event
 * before the caught-up point is missed, none after it is read. (Servers before 23.10 send no caught-up
 * message; Duban needs one that does.)
 */
/** Cancels the call and ends the stream, so an iterator waiting on it finishes instead of waiting for ever. */
async function endSubscription(subscription: AllStreamSubscription): Promise<void> {
  await subscription.unsubscribe();
  subscription.destroy();
}

export async function* untilCaughtUp(subscription: AllStreamSubscription): AsyncGenerator<AllStreamResolvedEvent> {
  let received = 0;
  let last: number | undefined;
  let wake = () => {};
  const onCaughtUp = () => {
    last ??= received + subscription.readableLength;
    wake();
  };
  subscription.on('caughtUp', onCaughtUp);
  const iterator = subscription[Symbol.asyncIterator]();
  const caughtUp = new Promise<'caughtUp'>((resolve) => (wake = () => resolve('caughtUp')));
  try {
    for (;;) {
      if (last !== undefined && received >= last) return;
      const next = iterator.next();
      // Swallowed here only: a failure is still thrown by `await next` whenever we wait for it.
      next.catch(() => {});
      let result = last !== undefined ? await next : await Promise.race([next, caughtUp]);
      if (result === 'caughtUp') {
        if (received >= last!) return;
        result = await next;
      }
      if (result.done) return;
      received++;
      yield result.value;
    }
  } finally {
    subscription.off('caughtUp', onCaughtUp);
    await endSubscription(subscription);
  }
}

/**
 * EventStoreDB behind the port.
 *
 * Idempotency across streams: the server de-duplicates event ids per stream only, so each id is first
 * reserved in its own stream (`duban-id-<uuid>`, expectedRevision NO_STREAM) naming the stream it is for;
 * an id reserved for another stream is refused. Only then is the batch written to its stream,
 * conditional on the exact revision read. A crash between the two leaves reservations naming our
 * stream and no events: the retry finds its own reservations, reads the stream, finds the ids absent and
 * writes them, so the window closes on the retry and never lets the id into a second stream.
 */
export function openEventStoreDb(options: EventStoreDbOptions): EventStore & { readonly client: EventStoreDBClient } {
  const client = EventStoreDBClient.connectionString(options.connectionString);
  const maxAttempts = options.maxAppendAttempts ?? 5;
  // Another writer moved the stream between our read and our write: wait a random moment (doubling,
  // capped) before reading again, so racing writers spread out instead of re-reading in lockstep.
  const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** attempt)));
  const now = options.now ?? (() => new Date());

  async function readEvents(streamId: string, read: Parameters<EventStoreDBClient['readStream']>[1]): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of client.readStream(streamId, read)) {
        const event = toRecorded(resolved);
        if (event) events.push(event);
      }
    } catch (error) {
      throw translateReadError(error, streamId);
    }
    return events;
  }

  /** The stream's events, or none; a tombstoned stream is refused. */
  async function readWholeStream(streamId: string): Promise<RecordedEvent[]> {
    try {
      return await readEvents(streamId, { fromRevision: START, direction: FORWARDS });
    } catch (error) {
      if (error instanceof StreamNotFoundError && !(error instanceof StreamDeletedError)) return [];
      throw error;
    }
  }

  async function lastOf(streamId: string): Promise<RecordedEvent | undefined> {
    try {
      return (await readEvents(streamId, { fromRevision: END, direction: BACKWARDS, maxCount: 1 }))[0];
    } catch (error) {
      if (error instanceof StreamNotFoundError && !(error instanceof StreamDeletedError)) return undefined;
      throw error;
    }
  }

  /** Reserves each id for `streamId`: the streams the ids were reserved for before, where they were. */
  async function reserve(streamId: string, events: readonly NewEvent[]): Promise<Map<string, string>> {
    const earlier = new Map<string, string>();
    await Promise.all(
      events.map(async (event) => {
        const eventId = event.metadata.eventId;
        const index = idIndexStream(eventId);
        try {
          await client.appendToStream(index, jsonEvent({ id: randomUUID(), type: ID_INDEX_TYPE, data: { streamId } }), { expectedRevision: NO_STREAM });
        } catch (error) {
          if (!(error instanceof EsdbWrongExpectedVersionError)) throw error;
          for await (const resolved of client.readStream(index, { fromRevision: START, maxCount: 1 })) {
            const data = resolved.event?.data as { streamId?: unknown } | undefined;
            if (typeof data?.streamId === 'string') earlier.set(eventId, data.streamId);
          }
          if (!earlier.has(eventId)) throw new Error(`id index ${index} exists but names no stream`);
        }
      }),
    );
    return earlier;
  }

  async function appendOnce(
    streamId: string,
    events: readonly NewEvent[],
    expectedRevision: Parameters<EventStore['append']>[2],
  ): Promise<AppendResult | 'raced'> {
    const reservedBefore = await reserve(streamId, events);
    for (const event of events) {
      const storedIn = reservedBefore.get(event.metadata.eventId);
      if (storedIn !== undefined && storedIn !== streamId) {
        throw new DubanError('conflict', 'store.event_id_in_other_stream', `event ${event.metadata.eventId} is already stored in stream ${storedIn}`, {
          streamId,
          eventId: event.metadata.eventId,
          storedIn,
        });
      }
    }

    // Ids reserved just now cannot be in the stream yet: only the head is needed. Ids reserved before may be.
    let last: RecordedEvent | undefined;
    if (reservedBefore.size > 0) {
      const existing = await readWholeStream(streamId);
      const stored = new Map<string, StoredEventRef>();
      for (const event of existing) {
        if (reservedBefore.has(event.metadata.eventId)) {
          stored.set(event.metadata.eventId, {
            streamId,
            revision: event.revision,
            position: event.position,
            type: event.type,
            dataText: canonicalJson(event.data),
            hash: event.metadata.hash,
          });
        }
      }
      const repeat = resolveRepeatedAppend(streamId, events, stored);
      if (repeat) return repeat;
      last = existing.at(-1);
    } else {
      last = await lastOf(streamId);
    }
    const current = last ? last.revision : -1;
    checkExpected(streamId, expectedRevision, current);
    if (current === -1 && softDeleted((await client.getStreamMetadata(streamId)).metadata)) {
      throw new StreamDeletedError(streamId, 'soft');
    }

    const recordedAt = now().toISOString();
    let prevHash = last ? last.metadata.hash : null;
    const hashes: string[] = [];
    const toWrite = events.map((event, i) => {
      const linked = linkEvent(streamId, current + 1 + i, event, recordedAt, prevHash);
      prevHash = linked.hash;
      hashes.push(linked.hash);
      return jsonEvent({
        id: event.metadata.eventId,
        type: event.type,
        // The canonical texts are what was hashed; parsing them gives the server exactly that content.
        data: JSON.parse(linked.dataText) as Record<string, unknown>,
        metadata: JSON.parse(linked.metadataText) as Record<string, unknown>,
      });
    });
    const onServer: AppendExpectedRevision = current === -1 ? NO_STREAM : BigInt(current);
    let nextRevision: number;
    try {
      const result = await client.appendToStream(streamId, toWrite, { expectedRevision: onServer });
      nextRevision = Number(result.nextExpectedRevision);
    } catch (error) {
      if (error instanceof EsdbWrongExpectedVersionError) return 'raced';
      if (error instanceof EsdbStreamDeletedError) throw new StreamDeletedError(streamId, 'tombstoned');
      throw error;
    }
    // The append's own position names its transaction, not each event: read the last one's exact pair.
    const [written] = await readEvents(streamId, { fromRevision: BigInt(nextRevision), maxCount: 1 });
    if (!written) throw new Error(`event ${streamId}@${nextRevision} was acknowledged but cannot be read back`);
    return { nextRevision, position: written.position, hashes };
  }

  /** $all after `from` (up to `to`), filtered by the server, ended where it caught up. */
  async function* readAllEvents(options: ReadAllOptions | undefined, filter: Filter = serverFilter(options?.filter)): AsyncGenerator<RecordedEvent> {
    const after = options?.fromPosition;
    const subscription = client.subscribeToAll({ fromPosition: resumeFrom(after), filter });
    const bound = options?.toPosition;
    for await (const resolved of untilCaughtUp(subscription)) {
      const event = toRecorded(resolved);
      if (!event) continue;
      if (after !== undefined && event.position <= after) continue;
      if (bound !== undefined && event.position > bound) return;
      if (matches(event, options?.filter)) yield event;
    }
  }

  return {
    client,

    async append(streamId, events, expectedRevision) {
      validateNewEvents(streamId, events);
      for (let attempt = 1; ; attempt++) {
        const outcome = await appendOnce(streamId, events, expectedRevision);
        if (outcome !== 'raced') return outcome;
        if (attempt >= maxAttempts) {
          const head = await lastOf(streamId);
          throw new WrongExpectedVersionError(streamId, expectedRevision, head ? head.revision : -1);
        }
        await backoff(attempt);
      }
    },

    async readStream(streamId, options) {
      const backwards = options?.direction === 'backwards';
      return readEvents(streamId, {
        fromRevision: options?.from !== undefined ? BigInt(options.from) : backwards ? END : START,
        direction: backwards ? BACKWARDS : FORWARDS,
        ...(options?.limit !== undefined ? { maxCount: options.limit } : {}),
      });
    },

    readAll(options) {
      return readAllEvents(options);
    },

    subscribeToAll(options?: SubscribeOptions): Subscription {
      const checkpoint = options?.fromCheckpoint;
      const subscription = client.subscribeToAll({ fromPosition: resumeFrom(checkpoint), filter: serverFilter(options?.filter) });
      let closed = false;
      async function* deliver(): AsyncGenerator<RecordedEvent> {
        try {
          for await (const resolved of subscription) {
            if (closed) return;
            const event = toRecorded(resolved);
            if (!event) continue;
            // The server may start at the checkpoint itself; that event was delivered before.
            if (checkpoint !== undefined && event.position <= checkpoint) continue;
            if (matches(event, options?.filter)) yield event;
          }
        } catch (error) {
          // Ending the stream on close interrupts the wait for the next event; that is no failure.
          if (!closed) throw error;
        }
      }
      const iterator = deliver();
      return {
        [Symbol.asyncIterator]: () => iterator,
        async close() {
          closed = true;
          await endSubscription(subscription);
          await iterator.return(undefined);
        },
      };
    },

    async headPosition() {
      // Backwards and unfiltered (a filtered read needs a subscription, which only goes forwards); the
      // newest records are almost always ours, so this stops after a few.
      for await (const resolved of client.readAll({ fromPosition: END, direction: BACKWARDS })) {
        const event = toRecorded(resolved);
        if (event && matches(event, undefined)) return event.position;
      }
      return -1n;
    },

    async eventsAfter(position, atMost) {
      let count = 0;
      for await (const _ of readAllEvents({ fromPosition: position }, excludeSystemEvents())) {
        if (++count >= atMost) break;
      }
      return count;
    },

    async verifyStream(streamId) {
      const events = await readWholeStream(streamId);
      if (events.length === 0) throw new StreamNotFoundError(streamId);
      return verifyEvents(events);
    },

    async verifyAll() {
      return verifyEvents(readAllEvents(undefined));
    },

    async ping() {
      for await (const _ of client.readAll({ fromPosition: START, maxCount: 1 })) break;
    },

    async close() {
      await client.dispose();
    },
  };
}
