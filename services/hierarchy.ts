import type { RecordedEvent } from '../events/envelope.js';
import { unitRegisteredSchema, unitStreamId, type UnitLevel } from '../events/unit/index.js';
import type { HierarchyView } from '../events/unit/hierarchy.js';
import type { EventStore } from './ports/event-store.js';
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
 * A unit, once registered, never changes, so the tree only grows. It is read once at start; after that
 * `apply` adds the units this process appends (read-your-writes), and `ensure` reads the stream of any
 * unit a request names that is not known here yet, so a unit registered through another process a moment
 * ago is found too. No live subscription is needed, and none costs a read on every append.
 */
export function createUnitHierarchy(deps: { store: EventStore; logger?: Logger }) {
  const units = new Map<string, UnitNode>();
  const children = new Map<string, Set<string>>();

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
    /** Reads every unit registered so far. */
    async start(): Promise<void> {
      for await (const event of deps.store.readAll({ filter: { streamPrefixes: ['unit-'] } })) apply(event);
    },
    async close(): Promise<void> {
      // Nothing held open.
    },
    size: () => units.size,
  };
}
export type UnitHierarchy = ReturnType<typeof createUnitHierarchy>;
