import type { Decider } from '../events/decider.js';
import type { DomainEvent, NewEvent, NewEventMetadata } from '../events/envelope.js';
import { decodeEvent, encodeEvent, type EventType } from '../events/registry.js';
import {
  type EventStore,
  expected,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from './ports/event-store.js';

/** Metadata of one new event, except its schema version, which the registry decides. */
export type EventMetadataFactory = (event: DomainEvent, index: number) => Omit<NewEventMetadata, 'schemaVersion'>;

export interface HandleCommandOptions {
  /** Further attempts after a version conflict; other errors are never retried. Default 5. */
  maxRetries?: number;
}

export interface CommandOutcome<Event extends DomainEvent, State> {
  /** What was appended; empty when the decider had nothing to say. */
  events: NewEvent<Event>[];
  /** State after the new events. */
  state: State;
  /** Revision of the stream's last event, -1 when the stream still does not exist. */
  nextRevision: number;
  /** Position of the last appended event, undefined when nothing was appended. */
  position?: bigint;
}

/**
 * Reads the stream, folds it with `evolve`, decides, and appends with the revision it read, so a
 * concurrent writer makes the append fail instead of being overwritten; then it starts again from the
 * read, at most `maxRetries` times. Events are validated by the registry on the way out of the store and
 * on the way in.
 */
export async function handleCommand<Command, Event extends DomainEvent, State, Context>(
  store: EventStore,
  streamId: string,
  decider: Decider<Command, Event, State, Context>,
  command: Command,
  context: Context,
  metadata: EventMetadataFactory,
  options: HandleCommandOptions = {},
): Promise<CommandOutcome<Event, State>> {
  const maxRetries = options.maxRetries ?? 5;
  for (let attempt = 0; ; attempt++) {
    const { state, revision } = await load(store, streamId, decider);
    const decided = decider.decide(command, state, context);
    if (decided.length === 0) return { events: [], state, nextRevision: revision };

    const events = decided.map((event, index): NewEvent<Event> => {
      const encoded = encodeEvent(event.type as EventType, event.data);
      return {
        type: event.type,
        data: encoded.data as Event['data'],
        metadata: { ...metadata(event, index), schemaVersion: encoded.schemaVersion },
      };
    });
    try {
      const result = await store.append(streamId, events, revision === -1 ? expected.noStream : expected.exact(revision));
      let after = state;
      for (const event of events) after = decider.evolve(after, { type: event.type, data: event.data } as Event);
      return { events, state: after, nextRevision: result.nextRevision, position: result.position };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || attempt >= maxRetries) throw error;
    }
  }
}

/** The stream's state and revision; a stream that does not exist yet is the initial state at -1. */
export async function load<Command, Event extends DomainEvent, State, Context>(
  store: EventStore,
  streamId: string,
  decider: Decider<Command, Event, State, Context>,
): Promise<{ state: State; revision: number }> {
  let recorded;
  try {
    recorded = await store.readStream(streamId);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return { state: decider.initialState, revision: -1 };
    throw error;
  }
  let state = decider.initialState;
  for (const event of recorded) {
    // Upcasts older versions and validates; the decider only ever sees current-version events.
    state = decider.evolve(state, decodeEvent(event.type, event.metadata.schemaVersion, event.data) as Event);
  }
  return { state, revision: recorded.length === 0 ? -1 : recorded[recorded.length - 1]!.revision };
}
