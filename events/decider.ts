import type { Actor } from './envelope.js';
import type { DomainEvent } from './envelope.js';
import type { HierarchyView } from './unit/hierarchy.js';

/**
 * What a decider may know besides the stream's state: the time, who acts and the unit tree. All of it
 * comes from the caller (HTTP layer or workflow activity), never from inside the domain.
 */
export interface DecideContext {
  /** ISO 8601 with offset. */
  now: string;
  actor: Actor;
  hierarchy: HierarchyView;
  /** Zone for bare dates in commands that have no policy of their own; default Asia/Shanghai. */
  timeZone?: string;
}

export interface Decider<Command, Event extends DomainEvent, State, Context = DecideContext> {
  initialState: State;
  evolve(state: State, event: Event): State;
  /** Returns the new events (possibly none), or throws a DubanError. */
  decide(command: Command, state: State, context: Context): Event[];
}

/** State after a sequence of events. */
export const fold = <Command, Event extends DomainEvent, State, Context>(
  decider: Decider<Command, Event, State, Context>,
  events: Iterable<Event>,
  from: State = decider.initialState,
): State => {
  let state = from;
  for (const event of events) state = decider.evolve(state, event);
  return state;
};

/** For the `default` branch of a switch over a union: fails to compile when a case is missing. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
