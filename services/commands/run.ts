import { randomUUID } from 'node:crypto';
import type { DecideContext, Decider } from '../../events/decider.js';
import type { Actor, DomainEvent } from '../../events/envelope.js';
import { DubanError } from '../../events/errors.js';
import { handleCommand, load } from '../command-handler.js';
import type { Metrics } from '../metrics.js';
import type { UnitHierarchy } from '../hierarchy.js';
import type { EventStore } from '../ports/event-store.js';

/** Who asks, and under which request. */
export interface CommandMeta {
  actor: Actor;
  correlationId: string;
  /** What caused the command; for HTTP requests, the request itself. Default: the correlation id. */
  causationId?: string;
  /** From `If-Match`: the stream revision the caller last saw. A mismatch is refused, never retried. */
  expectedRevision?: number;
}

export interface CommandOutcome {
  streamId: string;
  /** Stream revision after the command (unchanged when the command produced no event). */
  revision: number;
  /** Position of the last event appended, or null when nothing was appended. */
  position: string | null;
  events: { eventId: string; type: string }[];
}

export interface CommandRunnerDeps {
  store: EventStore;
  hierarchy: UnitHierarchy;
  metrics?: Metrics;
  now?: () => Date;
  timeZone?: string;
  /** Further attempts when another writer appended between our read and our append (no If-Match). */
  maxRetries?: number;
}

/** How a stream is read, decided and scoped: one per stream kind (problem, household, ...). */
export interface StreamKind<Command, Event extends DomainEvent, State> {
  name: string;
  decider: Decider<Command, Event, State>;
  /** Unit ids the state refers to, so the hierarchy can load them before deciding. */
  unitsOfState(state: State): string[];
  /**
   * Refuses an actor who may not see this item at all, before the decider looks at the command, so an
   * outsider learns nothing from which rule refused (unknown measure, wrong status, ...).
   */
  guard?(state: State, actor: Actor, hierarchy: UnitHierarchy['view']): void;
}

/** Unit ids named anywhere at the top level of a command (targetUnitId, villageId, parentId, ...). */
export function unitsOfCommand(command: object): string[] {
  const ids: string[] = [];
  for (const [key, value] of Object.entries(command)) {
    if (typeof value === 'string' && /(UnitId|unitId|villageId|parentId)$/.test(key)) ids.push(value);
  }
  return ids;
}

/** Raised inside a decide when the state names units this process has not loaded yet. */
class UnitsNotLoaded extends Error {
  constructor(readonly unitIds: string[]) {
    super('units not loaded');
  }
}

/** The stream's state together with its revision, so If-Match is checked against what is decided on. */
interface Pinned<State> {
  state: State;
  revision: number;
}

/**
 * The application's one way to change state, through `handleCommand`: read the stream, fold it, decide
 * with the current time, actor and unit tree, append with the revision read. A version conflict is
 * retried on fresh state unless the caller pinned a revision with If-Match; then the loser gets 409 with
 * the current revision, and a stale If-Match seen at read time is 412.
 */
export function createCommandRunner(deps: CommandRunnerDeps) {
  const now = deps.now ?? (() => new Date());
  const maxRetries = deps.maxRetries ?? 5;
  const { hierarchy } = deps;

  // Commands on one stream from this process run one after another: racing them would only make all but
  // one fail and re-read. Conflicts then come from other processes (or the workflow), and are retried.
  const tails = new Map<string, Promise<unknown>>();
  function serialized<T>(streamId: string, work: () => Promise<T>): Promise<T> {
    const previous = tails.get(streamId) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.catch(() => undefined);
    tails.set(streamId, tail);
    void tail.then(() => {
      if (tails.get(streamId) === tail) tails.delete(streamId);
    });
    return result;
  }

  function pinnedDecider<C, E extends DomainEvent, S>(kind: StreamKind<C, E, S>, meta: CommandMeta): Decider<C, E, Pinned<S>> {
    return {
      initialState: { state: kind.decider.initialState, revision: -1 },
      evolve: (pinned, event) => ({ state: kind.decider.evolve(pinned.state, event), revision: pinned.revision + 1 }),
      decide(command, pinned, context) {
        if (meta.expectedRevision !== undefined && meta.expectedRevision !== pinned.revision) {
          throw new DubanError(
            'precondition_failed',
            'http.if_match',
            `the item is at revision ${pinned.revision}, not ${meta.expectedRevision}; re-read it before changing it`,
            { actualRevision: pinned.revision },
          );
        }
        const missing = kind.unitsOfState(pinned.state).filter((id) => hierarchy.view.levelOf(id) === undefined);
        if (missing.length > 0) throw new UnitsNotLoaded(missing);
        kind.guard?.(pinned.state, context.actor, hierarchy.view);
        return kind.decider.decide(command, pinned.state, context);
      },
    };
  }

  async function attempt<C extends object, E extends DomainEvent, S>(
    kind: StreamKind<C, E, S>,
    streamId: string,
    command: C,
    meta: CommandMeta,
  ): Promise<CommandOutcome> {
    const started = performance.now();
    await hierarchy.ensure([meta.actor.unitId, ...unitsOfCommand(command)]);
    const context: DecideContext = {
      now: now().toISOString(),
      actor: meta.actor,
      hierarchy: hierarchy.view,
      ...(deps.timeZone ? { timeZone: deps.timeZone } : {}),
    };
    const metadata = () => ({
      eventId: randomUUID(),
      occurredAt: context.now,
      actor: meta.actor,
      correlationId: meta.correlationId,
      causationId: meta.causationId ?? meta.correlationId,
    });
    const decider = pinnedDecider(kind, meta);
    const retries = { maxRetries: meta.expectedRevision === undefined ? maxRetries : 0 };
    let outcome;
    try {
      outcome = await handleCommand(deps.store, streamId, decider, command, context, metadata, retries);
    } catch (err) {
      if (!(err instanceof UnitsNotLoaded)) throw err;
      // Units registered through another process a moment ago: load them and decide once more.
      await hierarchy.ensure(err.unitIds);
      outcome = await handleCommand(deps.store, streamId, decider, command, context, metadata, retries);
    }
    if (outcome.events.length === 0) return { streamId, revision: outcome.nextRevision, position: null, events: [] };
    for (const event of outcome.events) hierarchy.apply(event);
    deps.metrics?.appendDuration.observe({ stream: kind.name }, (performance.now() - started) / 1000);
    deps.metrics?.eventsAppended.inc({ stream: kind.name }, outcome.events.length);
    return {
      streamId,
      revision: outcome.nextRevision,
      position: outcome.position?.toString() ?? null,
      events: outcome.events.map((e) => ({ eventId: e.metadata.eventId, type: e.type })),
    };
  }

  return {
    run<C extends object, E extends DomainEvent, S>(kind: StreamKind<C, E, S>, streamId: string, command: C, meta: CommandMeta) {
      return serialized(streamId, () => attempt(kind, streamId, command, meta));
    },
    /** The stream's current state and revision (reads are not serialized with commands). */
    load<C, E extends DomainEvent, S>(kind: StreamKind<C, E, S>, streamId: string) {
      return load(deps.store, streamId, kind.decider);
    },
  };
}
export type CommandRunner = ReturnType<typeof createCommandRunner>;
