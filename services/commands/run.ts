import { randomUUID } from 'node:crypto';
import type { DecideContext, Decider } from '../../events/decider.js';
import type { Actor, DomainEvent, NewEvent, RecordedEvent } from '../../events/envelope.js';
import { DubanError } from '../../events/errors.js';
import { currentVersion, decodeEvent, type EventType } from '../../events/registry.js';
import type { Metrics } from '../metrics.js';
import type { UnitHierarchy } from '../hierarchy.js';
import { expected, StreamNotFoundError, WrongExpectedVersionError, type EventStore } from '../ports/event-store.js';

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
  /** Attempts when another writer appended between our read and our append (no If-Match given). */
  maxAttempts?: number;
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

/**
 * The application's one way to change state: read the stream, fold it, decide with the current time,
 * actor and unit tree, append with the revision read. A version conflict (another writer got in first)
 * is retried with a fresh read unless the caller pinned a revision with If-Match; then it is theirs to
 * resolve, and they get the current revision with the refusal.
 */
export function createCommandRunner(deps: CommandRunnerDeps) {
  const now = deps.now ?? (() => new Date());
  const maxAttempts = deps.maxAttempts ?? 5;
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

  async function load<C, E extends DomainEvent, S>(kind: StreamKind<C, E, S>, streamId: string) {
    let recorded: RecordedEvent[] = [];
    try {
      recorded = await deps.store.readStream(streamId);
    } catch (err) {
      if (!(err instanceof StreamNotFoundError)) throw err;
    }
    let state = kind.decider.initialState;
    for (const event of recorded) {
      state = kind.decider.evolve(state, decodeEvent(event.type, event.metadata.schemaVersion, event.data) as unknown as E);
    }
    const revision = recorded.length > 0 ? recorded[recorded.length - 1]!.revision : -1;
    return { state, revision };
  }

  function run<C extends object, E extends DomainEvent, S>(
    kind: StreamKind<C, E, S>,
    streamId: string,
    command: C,
    meta: CommandMeta,
  ): Promise<CommandOutcome> {
    return serialized(streamId, () => attempt(kind, streamId, command, meta));
  }

  async function attempt<C extends object, E extends DomainEvent, S>(
    kind: StreamKind<C, E, S>,
    streamId: string,
    command: C,
    meta: CommandMeta,
  ): Promise<CommandOutcome> {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      const { state, revision } = await load(kind, streamId);
      if (meta.expectedRevision !== undefined && meta.expectedRevision !== revision) {
        throw new DubanError(
          'precondition_failed',
          'http.if_match',
          `the item is at revision ${revision}, not ${meta.expectedRevision}; re-read it before changing it`,
          { actualRevision: revision },
        );
      }
      await deps.hierarchy.ensure([meta.actor.unitId, ...unitsOfCommand(command), ...kind.unitsOfState(state)]);
      kind.guard?.(state, meta.actor, deps.hierarchy.view);
      const context: DecideContext = {
        now: now().toISOString(),
        actor: meta.actor,
        hierarchy: deps.hierarchy.view,
        ...(deps.timeZone ? { timeZone: deps.timeZone } : {}),
      };
      const decided = kind.decider.decide(command, state, context);
      if (decided.length === 0) return { streamId, revision, position: null, events: [] };

      const events: NewEvent[] = decided.map((event) => ({
        type: event.type,
        data: event.data,
        metadata: {
          eventId: randomUUID(),
          occurredAt: context.now,
          actor: meta.actor,
          correlationId: meta.correlationId,
          causationId: meta.causationId ?? meta.correlationId,
          schemaVersion: currentVersion(event.type as EventType),
        },
      }));
      try {
        const result = await deps.store.append(
          streamId,
          events,
          revision === -1 ? expected.noStream : expected.exact(revision),
        );
        for (const event of events) deps.hierarchy.apply(event);
        deps.metrics?.appendDuration.observe({ stream: kind.name }, (performance.now() - started) / 1000);
        deps.metrics?.eventsAppended.inc({ stream: kind.name }, events.length);
        return {
          streamId,
          revision: result.nextRevision,
          position: result.position.toString(),
          events: events.map((e) => ({ eventId: e.metadata.eventId, type: e.type })),
        };
      } catch (err) {
        const retry = err instanceof WrongExpectedVersionError && meta.expectedRevision === undefined && attempt < maxAttempts;
        if (!retry) throw err;
      }
    }
  }

  return { run, load };
}
export type CommandRunner = ReturnType<typeof createCommandRunner>;
