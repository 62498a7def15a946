import type { RecordedEvent } from '../events/envelope.js';
import { unitRegisteredSchema, unitStreamId, type UnitLevel } from '../events/unit/index.js';
import type { HierarchyView } from '../events/unit/hierarchy.js';
import type { EventStore, Subscription } from './ports/event-store.js';
import { StreamNotFoundError } from './ports/event-store.js';

export interface UnitNode {
  unitId: string;
  name: string;
  level: UnitLevel;
  parentId: string | null;
}

interface Logger {
  warn(obj: object, msg: string): void;
}

/**
 * The unit tree in memory, as deciders and access checks need it (synchronous lookups).
 *
 * Kept current three ways: a catch-up subscription to the unit streams (changes made by any process);
 * `apply` right after this process appends a unit (read-your-writes without waiting for the
 * subscription); and `ensure`, which reads a unit's own stream when it is not yet known here, so a
 * unit registered through another API instance a moment ago is found too.
 */
export function createUnitHierarchy(deps: { store: EventStore; logger?: Logger }) {
  const units = new Map<string, UnitNode>();
  const children = new Map<string, Set<string>>();
  let subscription: Subscription | undefined;
  let following: Promise<void> | undefined;

  function add(node: UnitNode) {
    if (units.has(node.unitId)) return;
    units.set(node.unitId, node);
    if (node.parentId !== null) {
      let set = children.get(node.parentId);
      if (!set) children.set(node.parentId, (set = new Set()));
      set.add(node.unitId);
    }
  }

  function apply(event: { type: string; data: unknown }) {
    if (event.type !== 'UnitRegistered') return;
    const parsed = unitRegisteredSchema.safeParse(event.data);
    if (!parsed.success) {
      deps.logger?.warn({ type: event.type }, 'unit event does not decode; hierarchy ignores it');
      return;
    }
    add(parsed.data);
  }

  async function loadUnit(unitId: string): Promise<UnitNode | undefined> {
    const known = units.get(unitId);
    if (known) return known;
    let events: RecordedEvent[];
    try {
      events = await deps.store.readStream(unitStreamId(unitId));
    } catch (err) {
      if (err instanceof StreamNotFoundError) return undefined;
      throw err;
    }
    for (const event of events) apply(event);
    return units.get(unitId);
  }

  const view: HierarchyView & {
    nameOf(unitId: string): string | undefined;
    childrenOf(unitId: string): readonly string[];
    get(unitId: string): UnitNode | undefined;
  } = {
    parentOf: (unitId) => units.get(unitId)?.parentId,
    levelOf: (unitId) => units.get(unitId)?.level,
    nameOf: (unitId) => units.get(unitId)?.name,
    childrenOf: (unitId) => [...(children.get(unitId) ?? [])],
    get: (unitId) => units.get(unitId),
  };

  return {
    view,
    apply,
    /** Loads the named units and their ancestors from the store when they are not known here yet. */
    async ensure(unitIds: Iterable<string>): Promise<void> {
      for (const start of unitIds) {
        let current: string | null = start;
        const seen = new Set<string>();
        while (current !== null && !seen.has(current)) {
          seen.add(current);
          const node: UnitNode | undefined = await loadUnit(current);
          current = node?.parentId ?? null;
        }
      }
    },
    /** Reads every unit registered so far, then follows new ones live. Resolves once caught up. */
    async start(): Promise<void> {
      const head = await deps.store.headPosition();
      for await (const event of deps.store.readAll({ filter: { streamPrefixes: ['unit-'] }, toPosition: head })) {
        apply(event);
      }
      const live = deps.store.subscribeToAll({ fromCheckpoint: head, filter: { streamPrefixes: ['unit-'] } });
      subscription = live;
      following = (async () => {
        try {
          for await (const event of live) apply(event);
        } catch (err) {
          deps.logger?.warn({ err }, 'unit hierarchy subscription ended; lookups fall back to reading streams');
        }
      })();
    },
    async close(): Promise<void> {
      await subscription?.close();
      await following;
    },
    size: () => units.size,
  };
}
export type UnitHierarchy = ReturnType<typeof createUnitHierarchy>;
