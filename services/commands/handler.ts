import { randomUUID } from 'node:crypto';
import type { DecideContext, Decider } from '../../events/decider.js';
import type { Actor, DomainEvent, NewEvent, RecordedEvent } from '../../events/envelope.js';
import { DubanError, StepNotDue } from '../../events/errors.js';
import { decodeEvent, encodeEvent, type EventType } from '../../events/registry.js';
import type { Metrics } from '../metrics.js';
import type { UnitHierarchy } from '../hierarchy.js';
import type { UnitLevel } from '../../events/unit/hierarchy.js';
import { expected, StreamNotFoundError, WrongExpectedVersionError, type EventStore } from '../ports/event-store.js';
import { nameBasedUuid } from './ids.js';

/** Who asks, and under which request. */
export interface CommandMeta {
  actor: Actor;
  correlationId: string;
  /** What caused the command; for HTTP requests, the request itself. Default: the correlation id. */
  causationId?: string;
  /** From `If-Match`: the stream revision the caller last saw. A mismatch is refused, never retried. */
  expectedRevision?: number;
  /**
   * Names the command's events: the i-th new event's id is derived from the seed and i, so the same
   * command sent again (a retried activity, a repeated request) appends nothing and answers with what
   * the first one stored. Without a seed every event gets a random id.
   */
  eventIdSeed?: string;
  /**
   * What the request under the seed asked (for HTTP: method, path and body, hashed). Stored on the seeded
   * events, so a later command under the same seed that asks something else is refused (422) instead of
   * being answered with the first one's result, even when no key store remembers the first request.
   */
  requestFingerprint?: string;
  /** The moment the command acts at (ISO 8601), for the decider and `occurredAt`; default the clock. */
  at?: string;
}

export interface CommandOutcome {
  streamId: string;
  /** Stream revision after the command (unchanged when the command produced no event). */
  revision: number;
  /** Position of the last event appended, or null when nothing was appended. */
  position: string | null;
  events: { eventId: string; type: string }[];
  /** Set when the decider found the step no longer due on the stream as it is: nothing was written. */
  notDue?: { rule: string; message: string };
}

export interface CommandHandlerDeps {
  store: EventStore;
  hierarchy: UnitHierarchy;
  metrics?: Metrics;
  now?: () => Date;
  timeZone?: string;
  /** Further attempts when another writer appended between our read and our append (no If-Match). */
  maxRetries?: number;
  /** Upper bound of the random wait before a further attempt; it doubles per attempt up to this. */
  maxBackoffMs?: number;
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
  // A key loop, not Object.entries: an import asks this of every row (an array per member cost 1 KB a row).
  for (const key in command) {
    if (!Object.hasOwn(command, key)) continue;
    const value = (command as Record<string, unknown>)[key];
    if (typeof value === 'string' && UNIT_KEY.test(key)) ids.push(value);
  }
  return ids;
}
const UNIT_KEY = /(UnitId|unitId|villageId|parentId)$/;

/**
 * The unit tree with the units some commands register before they are stored: what the commands after
 * them see (as separate calls see what `apply` added once each was stored). Commands of one batch in the
 * handler, and the rows of a units import in its dry run, decide on it.
 */
export function registeringOver(base: UnitHierarchy['view']) {
  return new RegisteringTree(base);
}

type TreeView = UnitHierarchy['view'];
type Registered = { unitId: string; parentId: string | null; level: UnitLevel; name: string };

/** Methods, not closures: one is made for every command batch (a prefecture's import makes 90,000). */
class RegisteringView implements TreeView {
  constructor(
    private readonly base: UnitHierarchy['view'],
    private readonly registering: ReadonlyMap<string, Registered>,
  ) {}
  parentOf(id: string) {
    const unit = this.registering.size > 0 ? this.registering.get(id) : undefined;
    return unit ? unit.parentId : this.base.parentOf(id);
  }
  levelOf(id: string) {
    const unit = this.registering.size > 0 ? this.registering.get(id) : undefined;
    return unit ? unit.level : this.base.levelOf(id);
  }
  nameOf(id: string) {
    const unit = this.registering.size > 0 ? this.registering.get(id) : undefined;
    return unit ? unit.name : this.base.nameOf(id);
  }
  childrenOf(id: string) {
    return this.base.childrenOf(id);
  }
  get(id: string) {
    return this.base.get(id);
  }
}

class RegisteringTree {
  private readonly registering = new Map<string, Registered>();
  readonly view: UnitHierarchy['view'];
  constructor(base: UnitHierarchy['view']) {
    this.view = new RegisteringView(base, this.registering);
  }
  /** Places a unit an event registers (other events are ignored). */
  add(event: { type: string; data: unknown }): void {
    if (event.type !== 'UnitRegistered') return;
    const unit = event.data as Registered;
    this.registering.set(unit.unitId, unit);
  }
  clear(): void {
    this.registering.clear();
  }
}

/**
 * What a dry run found on one stream for the commands sent with it: the revision it read, each command's
 * events as the decider gave them (each decided on the state the ones before it left, at the moment in
 * the commands' `at`), and the state they all lead to. `runAll` appends those events as they are, without
 * reading or deciding again, on the condition that the stream is still at that revision; if it moved on,
 * the conflict sends the commands the usual way (read, guard, decide, append).
 */
export interface CheckedStream<E, S> {
  revision: number;
  events: readonly (readonly E[])[];
  state: S;
}

/** The id of the i-th event of a command named by `seed`. */
export const seededEventId = (seed: string, index: number) => nameBasedUuid(`${seed}/${index}`);

/**
 * How many streams' states stay in memory between commands: a prefecture's households (about 40,000) and
 * then some, so an import of every household's measures folds each household once, not once per row.
 */
const STATE_CACHE_SIZE = 50_000;
const FIRST_BACKOFF_MS = 5;
/** The store's refusals of an append whose event ids are already taken by other content. */
const SEED_TAKEN: ReadonlySet<string> = new Set(['store.event_id_reused', 'store.partial_repeat']);

/**
 * The application's one way to change state, whoever writes (an HTTP route, a clock step, a review, an
 * import): read the stream, fold it, decide with the time, actor and unit tree, append with the revision
 * read; on a version conflict wait a random moment (doubling, capped) and start again from the read, at
 * most `maxRetries` times. Nowhere else retries a conflict.
 *
 * It keeps each stream's folded state in memory and reads only the events appended since, so a command
 * on a long stream does not decode its whole history again; the append is still conditional on the
 * revision, so a stale cache can only cost a retry, never a lost write.
 *
 * With If-Match the caller pins the revision: a mismatch seen at read is 412, and losing a race to another
 * writer is 409 with the current revision (not retried: the caller decides on the new state).
 */
export function createCommandHandler(deps: CommandHandlerDeps) {
  const now = deps.now ?? (() => new Date());
  const maxRetries = deps.maxRetries ?? 10;
  const maxBackoffMs = deps.maxBackoffMs ?? 200;
  const { hierarchy, store } = deps;
  const states = new Map<string, { state: unknown; revision: number }>();

  // Commands on one stream from this process run one after another: racing them would only make all but
  // one fail and re-read. Conflicts then come from other processes, and are retried.
  const tails = new Map<string, Promise<unknown>>();
  function serialized<T>(streamId: string, work: () => Promise<T>): Promise<T> {
    const previous = tails.get(streamId);
    // Nothing in flight on the stream (the usual case): start at once, without a turn of the queue.
    const result = previous ? previous.then(work, work) : work();
    const settled = () => {
      if (tails.get(streamId) === tail) tails.delete(streamId);
    };
    const tail: Promise<unknown> = result.then(settled, settled);
    tails.set(streamId, tail);
    return result;
  }

  // Full, the oldest tenth goes at once (a Map iterates in insertion order). Deleting only the oldest entry
  // per insert made every insert's `keys().next()` step over the holes the deletes before it left at the
  // front of the table: quadratic once an import touched more streams than the cache holds.
  function remember(streamId: string, state: unknown, revision: number) {
    states.delete(streamId);
    if (states.size >= STATE_CACHE_SIZE) {
      let evict = STATE_CACHE_SIZE / 10;
      for (const oldest of states.keys()) {
        states.delete(oldest);
        if (--evict === 0) break;
      }
    }
    states.set(streamId, { state, revision });
  }

  async function read(streamId: string, from = 0): Promise<RecordedEvent[]> {
    try {
      return await store.readStream(streamId, { from });
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw err;
    }
  }

  /**
   * The stream's state and revision: the cached fold plus whatever was appended since. With
   * `trustCache`, a cached state is taken as it is, without asking the store: the append that follows
   * is conditional on its revision, so if anyone wrote meanwhile the append fails and we read again.
   */
  async function load<C, E extends DomainEvent, S>(
    kind: StreamKind<C, E, S>,
    streamId: string,
    options: { trustCache?: boolean } = {},
  ): Promise<{ state: S; revision: number }> {
    const cached = states.get(streamId);
    if (cached && options.trustCache) return { state: cached.state as S, revision: cached.revision };
    let state = (cached?.state as S | undefined) ?? kind.decider.initialState;
    let revision = cached?.revision ?? -1;
    const recorded = await read(streamId, revision + 1);
    for (const event of recorded) {
      // Upcasts older versions and validates: the decider only ever sees current-version events.
      state = kind.decider.evolve(state, decodeEvent(event.type, event.metadata.schemaVersion, event.data) as unknown as E);
      revision = event.revision;
    }
    // A stream not found is remembered too (revision -1), so the command that creates it trusts the cache.
    if (recorded.length > 0 || !cached) remember(streamId, state, revision);
    return { state, revision };
  }

  /** What a seeded command stored the first time it ran, if it did: its events, in order. */
  async function storedBySeed(streamId: string, seed: string): Promise<RecordedEvent[]> {
    const stored = await read(streamId);
    const byId = new Map(stored.map((e) => [e.metadata.eventId, e]));
    const found: RecordedEvent[] = [];
    for (let i = 0; ; i++) {
      const event = byId.get(seededEventId(seed, i));
      if (!event) return found;
      found.push(event);
    }
  }

  /**
   * The answer to a command that wrote nothing now: the first run's, when a seed says it ran before —
   * provided it is the same request. Events stored before fingerprints were kept carry none and are taken
   * as the same request, as they were then.
   */
  async function unchanged(streamId: string, revision: number, meta: CommandMeta, notDue?: StepNotDue): Promise<CommandOutcome | undefined> {
    if (meta.eventIdSeed !== undefined) {
      const earlier = await storedBySeed(streamId, meta.eventIdSeed);
      const last = earlier.at(-1);
      if (last) {
        const stored = earlier[0]!.metadata.requestFingerprint;
        if (stored !== undefined && meta.requestFingerprint !== undefined && stored !== meta.requestFingerprint) {
          throw new DubanError(
            'unprocessable',
            'http.idempotency_key_reused',
            'this Idempotency-Key was already used with a different request; use a new key for a new request',
          );
        }
        return {
          streamId,
          revision: Math.max(revision, last.revision),
          position: last.position.toString(),
          events: earlier.map((e) => ({ eventId: e.metadata.eventId, type: e.type })),
        };
      }
    }
    if (!notDue) return undefined;
    return { streamId, revision, position: null, events: [], notDue: { rule: notDue.rule, message: notDue.message } };
  }

  const zone = deps.timeZone ? { timeZone: deps.timeZone } : {};

  /** Loads every unit a batch's commands and actors name, so its deciders find them. */
  async function ensureNamed(items: readonly { command: object; meta: CommandMeta }[]): Promise<void> {
    const named = new Set<string>();
    for (const { command, meta } of items) {
      named.add(meta.actor.unitId);
      for (const id of unitsOfCommand(command)) named.add(id);
    }
    await hierarchy.ensure([...named]);
  }

  /** The commands one by one, each its own attempt: for the rare answers that name one command's seed. */
  async function separately<C extends object, E extends DomainEvent, S>(
    kind: StreamKind<C, E, S>,
    streamId: string,
    items: readonly { command: C; meta: CommandMeta }[],
  ): Promise<CommandOutcome[]> {
    const outcomes: CommandOutcome[] = [];
    for (const item of items) outcomes.push(...(await attempt(kind, streamId, [item])));
    return outcomes;
  }

  const backoff = (retry: number) =>
    new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(maxBackoffMs, FIRST_BACKOFF_MS * 2 ** retry)));

  /**
   * One stream's commands, in order, as one attempt: one read, each command guarded and decided on the
   * state the commands before it produced (exactly as separate calls in a row would be), one append of all
   * their events conditional on the revision read. A version conflict starts the whole batch again from the
   * read. A command refused (by If-Match, the guard, the decider or the registry) ends the batch: the events
   * of the commands before it are appended, as separate calls would have appended them, and then its error
   * is thrown; the commands after it are not run. A command the decider finds not due, or that a seed says
   * ran before, is answered as a separate call would be and the batch goes on.
   */
  async function attempt<C extends object, E extends DomainEvent, S>(
    kind: StreamKind<C, E, S>,
    streamId: string,
    items: readonly { command: C; meta: CommandMeta }[],
    checked?: CheckedStream<E, S>,
  ): Promise<CommandOutcome[]> {
    const started = performance.now();
    if (checked && checked.events.length !== items.length) throw new Error(`runAll: ${checked.events.length} checked results for ${items.length} commands`);
    let ensured = false;
    // The units this batch registers, seen by the commands after it.
    const registering = registeringOver(hierarchy.view);
    const { view } = registering;
    const clock = now().toISOString();
    let pinned = false;
    for (const { meta } of items) if (meta.expectedRevision !== undefined) pinned = true;

    for (let retry = 0; ; retry++) {
      // A dry run's decisions stand for the first attempt only: a conflict means the stream moved since.
      const given = retry === 0 && !pinned ? checked : undefined;
      if (!given && !ensured) {
        ensured = true;
        await ensureNamed(items);
      }
      let { state, revision } = given ? { state: given.state, revision: given.revision } : await load(kind, streamId, { trustCache: retry === 0 });
      // A cached revision other than the caller's may just be behind: ask the store before refusing.
      const firstPin = items[0]?.meta.expectedRevision;
      if (firstPin !== undefined && firstPin !== revision && retry === 0) {
        ({ state, revision } = await load(kind, streamId));
      }
      const read = revision;
      registering.clear();
      const events: NewEvent[] = [];
      // Per command: its answer, or (for a command that appends) how many of the batch's events are its.
      const answers: (CommandOutcome | { from: number; to: number })[] = [];
      let refusal: { err: unknown } | undefined;
      for (let i = 0; i < items.length; i++) {
        const { command, meta } = items[i]!;
        const occurredAt = meta.at ?? clock;
        const at = read + events.length;
        const from = events.length;
        try {
          if (meta.expectedRevision !== undefined && meta.expectedRevision !== at) {
            throw new DubanError(
              'precondition_failed',
              'http.if_match',
              `the item is at revision ${at}, not ${meta.expectedRevision}; re-read it before changing it`,
              { actualRevision: at },
            );
          }
          let decided: readonly E[];
          if (given) decided = given.events[i]!;
          else {
            const missing = kind.unitsOfState(state).filter((id) => view.levelOf(id) === undefined);
            // Units registered through another process a moment ago: load them before deciding.
            if (missing.length > 0) await hierarchy.ensure(missing);
            kind.guard?.(state, meta.actor, view);
            const context: DecideContext = { now: occurredAt, actor: meta.actor, hierarchy: view, ...zone };
            try {
              decided = kind.decider.decide(command, state, context);
            } catch (err) {
              if (!(err instanceof DubanError)) throw err;
              const answer = await unchanged(streamId, at, meta, err instanceof StepNotDue ? err : undefined);
              if (!answer) throw err;
              answers.push(answer);
              continue;
            }
          }
          if (decided.length === 0) {
            answers.push((await unchanged(streamId, at, meta)) ?? { streamId, revision: at, position: null, events: [] });
            continue;
          }
          for (let index = 0; index < decided.length; index++) {
            const { type, data, schemaVersion } = encodeEvent(decided[index]!.type as EventType, decided[index]!.data);
            events.push({
              type,
              data,
              metadata: {
                eventId: meta.eventIdSeed !== undefined ? seededEventId(meta.eventIdSeed, index) : randomUUID(),
                occurredAt,
                actor: meta.actor,
                correlationId: meta.correlationId,
                causationId: meta.causationId ?? meta.correlationId,
                schemaVersion,
                ...(meta.eventIdSeed !== undefined && meta.requestFingerprint !== undefined ? { requestFingerprint: meta.requestFingerprint } : {}),
              },
            });
          }
          // The next command is decided on the state these events make, as it would be after they were read back
          // (given a dry run's, the state is already the one its events lead to).
          for (let j = from; j < events.length; j++) {
            const event = events[j]!;
            if (!given) state = kind.decider.evolve(state, { type: event.type, data: event.data } as E);
            registering.add(event);
          }
          answers.push({ from, to: events.length });
        } catch (err) {
          // A command is all its events or none of them.
          events.length = from;
          refusal = { err };
          break;
        }
      }
      if (events.length === 0) {
        if (refusal) throw refusal.err;
        return answers as CommandOutcome[];
      }

      try {
        const result = await store.append(streamId, events, read === -1 ? expected.noStream : expected.exact(read));
        const repeated = result.nextRevision !== read + events.length;
        if (repeated) {
          // The store matched these ids on type and data: answered command by command, each by its seed.
          states.delete(streamId);
          if (items.length > 1) return await separately(kind, streamId, items);
          const meta = items[0]!.meta;
          // Whether the same request sent them is in the metadata.
          if (meta.requestFingerprint !== undefined) {
            const answer = await unchanged(streamId, read, meta);
            if (answer) return [answer];
          }
          return [{ streamId, revision: result.nextRevision, position: result.position.toString(), events: events.map((e) => ({ eventId: e.metadata.eventId, type: e.type })) }];
        }
        remember(streamId, state, result.nextRevision);
        for (const event of events) hierarchy.apply(event);
        deps.metrics?.appendDuration.observe({ stream: kind.name }, (performance.now() - started) / 1000);
        deps.metrics?.eventsAppended.inc({ stream: kind.name }, events.length);
        const position = result.position.toString();
        const outcomes = answers.map((answer): CommandOutcome => {
          if (!('from' in answer)) return answer;
          const own = events.slice(answer.from, answer.to);
          // One append, one position: the store names the last event's, which every command of the batch shares.
          return { streamId, revision: read + answer.to, position, events: own.map((e) => ({ eventId: e.metadata.eventId, type: e.type })) };
        });
        if (refusal) throw refusal.err;
        return outcomes;
      } catch (err) {
        if (refusal && err === refusal.err) throw err;
        // The seeded ids are stored with other content: this seed ran before, deciding otherwise then (the
        // clock moved, or it is another request under the same key). The first run's answer, or the 422.
        if (err instanceof DubanError && SEED_TAKEN.has(err.rule) && items.some(({ meta }) => meta.eventIdSeed !== undefined)) {
          if (items.length > 1) return await separately(kind, streamId, items);
          const answer = await unchanged(streamId, read, items[0]!.meta);
          if (answer) return [answer];
        }
        const retryable = err instanceof WrongExpectedVersionError && !pinned && retry < maxRetries;
        if (!retryable) throw err;
        await backoff(retry);
      }
    }
  }

  return {
    async run<C extends object, E extends DomainEvent, S>(kind: StreamKind<C, E, S>, streamId: string, command: C, meta: CommandMeta) {
      const [outcome] = await serialized(streamId, () => attempt(kind, streamId, [{ command, meta }]));
      return outcome!;
    },
    /**
     * One stream's commands together (an import's rows on one household): one read, one decide-fold, one
     * append, the same checks, ids and answers as `run` for each in turn. See `attempt` for a refusal. With
     * `checked` (what a dry run decided on this stream), no read and no decide: see `CheckedStream`.
     */
    runAll<C extends object, E extends DomainEvent, S>(
      kind: StreamKind<C, E, S>,
      streamId: string,
      items: readonly { command: C; meta: CommandMeta }[],
      checked?: CheckedStream<E, S>,
    ) {
      if (items.length === 0) return Promise.resolve([]);
      return serialized(streamId, () => attempt(kind, streamId, items, checked));
    },
    /** The stream's current state and revision, read through the same cache (always asks the store). */
    load: <C, E extends DomainEvent, S>(kind: StreamKind<C, E, S>, streamId: string) => load(kind, streamId),
  };
}
export type CommandHandler = ReturnType<typeof createCommandHandler>;
