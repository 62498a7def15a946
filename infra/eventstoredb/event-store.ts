import {
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  BACKWARDS,
  END,
  EventStoreDBClient,
  excludeSystemEvents,
  type Filter,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  type Position,
  type ResolvedEvent,
  START,
  streamNameFilter,
  StreamNotFoundError as EsdbStreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
} from '@eventstore/db-client';
import type { RecordedEvent, RecordedEventMetadata } from '../../events/envelope.js';
import {
  type AppendResult,
  type EventFilter,
  type EventStore,
  type ReadAllOptions,
  type SubscribeOptions,
  type Subscription,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../../services/ports/event-store.js';
import { checkExpected, validateNewEvents } from '../event-store/append-rules.js';
import { canonicalJson, linkEvent } from '../event-store/audit-chain.js';
import { verifyEvents } from '../event-store/reading.js';
import { resolveRepeatedAppend, type StoredEventRef } from '../event-store/idempotency.js';

export interface EventStoreDbOptions {
  /** e.g. `esdb://localhost:2113?tls=false`. */
  connectionString: string;
  /** Attempts when another writer moves the stream between our read and our conditional write. */
  maxAppendAttempts?: number;
  now?: () => Date;
}

/**
 * Our bigint position for an event of $all. Events written through gRPC (server 20+) carry one log
 * position for both commit and prepare; where they differ (events of an explicit TCP-era transaction
 * share the commit record's position) the prepare position is the one unique to the event, so it is used.
 * Reads resume from `{commit: p, prepare: p}` and drop everything at or before p, which is exact in the
 * first case and safe in the second.
 */
export function positionOf(position: Position): bigint {
  return position.commit === position.prepare ? position.commit : position.prepare;
}

const readPositionAfter = (checkpoint: bigint | undefined) =>
  checkpoint === undefined || checkpoint < 0n ? START : { commit: checkpoint, prepare: checkpoint };

const isSystem = (streamId: string, type: string) => streamId.startsWith('$') || type.startsWith('$');

function matches(event: RecordedEvent, filter: EventFilter | undefined): boolean {
  if (isSystem(event.streamId, event.type)) return false;
  if (filter?.streamPrefixes && !filter.streamPrefixes.some((p) => event.streamId.startsWith(p))) return false;
  if (filter?.types && !filter.types.includes(event.type)) return false;
  return true;
}

function toRecorded(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event;
  // Links and binary events are not ours (we write JSON events only and never resolve links).
  if (!event || event.isJson !== true) return undefined;
  const position = event.position ? positionOf(event.position) : (resolved.commitPosition ?? -1n);
  return {
    streamId: event.streamId,
    revision: Number(event.revision),
    position,
    type: event.type,
    data: event.data as unknown,
    metadata: event.metadata as unknown as RecordedEventMetadata,
  };
}

/**
 * EventStoreDB behind the port. The server only de-duplicates event ids appended in quick succession,
 * so an append first reads the target stream: ids already there make it a repeat (original result, or a
 * refusal for a partial repeat), and the write is conditional on the exact revision that was read, so no
 * writer can slip the same ids in between; a lost race re-reads and decides again.
 */
export function openEventStoreDb(options: EventStoreDbOptions): EventStore & { readonly client: EventStoreDBClient } {
  const client = EventStoreDBClient.connectionString(options.connectionString);
  const maxAttempts = options.maxAppendAttempts ?? 5;
  // Another writer moved the stream between our read and our write: wait a random moment (doubling,
  // capped) before reading again, so racing writers spread out instead of re-reading in lockstep.
  const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** attempt)));
  const now = options.now ?? (() => new Date());

  async function readWholeStream(streamId: string): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of client.readStream(streamId, { fromRevision: START, direction: FORWARDS })) {
        const event = toRecorded(resolved);
        if (event) events.push(event);
      }
    } catch (error) {
      if (error instanceof EsdbStreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  async function positionAt(streamId: string, revision: number): Promise<bigint> {
    for await (const resolved of client.readStream(streamId, { fromRevision: BigInt(revision), maxCount: 1 })) {
      const event = toRecorded(resolved);
      if (event) return event.position;
    }
    throw new Error(`event ${streamId}@${revision} was acknowledged but cannot be read back`);
  }

  async function appendOnce(
    streamId: string,
    events: Parameters<EventStore['append']>[1],
    expectedRevision: Parameters<EventStore['append']>[2],
  ): Promise<AppendResult | 'raced'> {
    const existing = await readWholeStream(streamId);
    const wanted = new Set(events.map((e) => e.metadata.eventId));
    const stored = new Map<string, StoredEventRef>();
    for (const event of existing) {
      if (wanted.has(event.metadata.eventId)) {
        stored.set(event.metadata.eventId, {
          streamId,
          revision: event.revision,
          position: event.position,
          type: event.type,
          dataText: canonicalJson(event.data),
        });
      }
    }
    const repeat = resolveRepeatedAppend(streamId, events, stored);
    if (repeat) return repeat;

    const last = existing[existing.length - 1];
    const current = last ? last.revision : -1;
    checkExpected(streamId, expectedRevision, current);

    const recordedAt = now().toISOString();
    let prevHash = last ? last.metadata.hash : null;
    const toWrite = events.map((event, i) => {
      const linked = linkEvent(streamId, current + 1 + i, event, recordedAt, prevHash);
      prevHash = linked.hash;
      return jsonEvent({
        id: event.metadata.eventId,
        type: event.type,
        // The canonical texts are what was hashed; parsing them gives the server exactly that content.
        data: JSON.parse(linked.dataText) as Record<string, unknown>,
        metadata: JSON.parse(linked.metadataText) as Record<string, unknown>,
      });
    });
    const onServer: AppendExpectedRevision = current === -1 ? NO_STREAM : BigInt(current);
    try {
      const result = await client.appendToStream(streamId, toWrite, { expectedRevision: onServer });
      const nextRevision = Number(result.nextExpectedRevision);
      // The server's own de-duplication (same ids in quick succession) may answer without a position.
      const position = result.position ? positionOf(result.position) : await positionAt(streamId, nextRevision);
      return { nextRevision, position };
    } catch (error) {
      if (error instanceof EsdbWrongExpectedVersionError) return 'raced';
      throw error;
    }
  }

  async function* readAllEvents(options: ReadAllOptions | undefined): AsyncGenerator<RecordedEvent> {
    const after = options?.fromPosition;
    for await (const resolved of client.readAll({ fromPosition: readPositionAfter(after), direction: FORWARDS })) {
      const event = toRecorded(resolved);
      if (!event) continue;
      if (after !== undefined && event.position <= after) continue;
      if (options?.toPosition !== undefined && event.position > options.toPosition) return;
      if (matches(event, options?.filter)) yield event;
    }
  }

  function serverFilter(filter: EventFilter | undefined): Filter {
    // The server filters on stream names or on types, not both: prefixes there, the rest here.
    if (filter?.streamPrefixes && filter.streamPrefixes.length > 0) {
      return streamNameFilter({ prefixes: [...filter.streamPrefixes] });
    }
    return excludeSystemEvents();
  }

  return {
    client,

    async append(streamId, events, expectedRevision) {
      validateNewEvents(streamId, events);
      for (let attempt = 1; ; attempt++) {
        const outcome = await appendOnce(streamId, events, expectedRevision);
        if (outcome !== 'raced') return outcome;
        if (attempt >= maxAttempts) {
          const head = (await readWholeStream(streamId)).at(-1);
          throw new WrongExpectedVersionError(streamId, expectedRevision, head ? head.revision : -1);
        }
        await backoff(attempt);
      }
    },

    async readStream(streamId, options) {
      const backwards = options?.direction === 'backwards';
      const events: RecordedEvent[] = [];
      try {
        for await (const resolved of client.readStream(streamId, {
          fromRevision: options?.from !== undefined ? BigInt(options.from) : backwards ? END : START,
          direction: backwards ? BACKWARDS : FORWARDS,
          ...(options?.limit !== undefined ? { maxCount: options.limit } : {}),
        })) {
          const event = toRecorded(resolved);
          if (event) events.push(event);
        }
      } catch (error) {
        if (!(error instanceof EsdbStreamNotFoundError)) throw error;
        throw new StreamNotFoundError(streamId);
      }
      return events;
    },

    readAll(options) {
      return readAllEvents(options);
    },

    subscribeToAll(options?: SubscribeOptions): Subscription {
      const checkpoint = options?.fromCheckpoint;
      const subscription = client.subscribeToAll({
        fromPosition: readPositionAfter(checkpoint),
        filter: serverFilter(options?.filter),
      });
      let closed = false;
      async function* deliver(): AsyncGenerator<RecordedEvent> {
        for await (const resolved of subscription) {
          if (closed) return;
          const event = toRecorded(resolved);
          if (!event) continue;
          // The server starts at the checkpoint itself when an event sits there; it was delivered before.
          if (checkpoint !== undefined && event.position <= checkpoint) continue;
          if (matches(event, options?.filter)) yield event;
        }
      }
      const iterator = deliver();
      return {
        [Symbol.asyncIterator]: () => iterator,
        async close() {
          closed = true;
          await subscription.unsubscribe();
          await iterator.return(undefined);
        },
      };
    },

    async headPosition() {
      for await (const resolved of client.readAll({ fromPosition: END, direction: BACKWARDS })) {
        const event = toRecorded(resolved);
        if (event && !isSystem(event.streamId, event.type)) return event.position;
      }
      return -1n;
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
