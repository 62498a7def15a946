import type { Actor, RecordedEvent } from '../../events/envelope.js';
import type { HierarchyView } from '../../events/unit/hierarchy.js';
import type { AuditLog, SealedLeaf, SignedDigest } from '../ports/audit-log.js';
import type { EventStore } from '../ports/event-store.js';
import { UNSEALED_REASON } from './breaks.js';
import { inclusionProof } from './merkle.js';
import { streamsInScope } from './scope.js';

/** An event as exported: what its leaf commits to, positions as text. */
export interface ExportedEvent {
  streamId: string;
  revision: number;
  position: string;
  type: string;
  data: unknown;
  metadata: RecordedEvent['metadata'];
}

/**
 * One line of an export. `digest` first; then a `leaf` line per leaf of the digest's tree (with the
 * event now stored there, or null when it is gone; with its inclusion proof in a subtree export), and an
 * `unsealed` line per stored event that has no leaf.
 */
export type ExportLine =
  | ({ kind: 'digest' } & SignedDigest)
  | {
      kind: 'leaf';
      index: number;
      leafHash: string;
      streamId: string;
      revision: number;
      position: string;
      eventId: string;
      event: ExportedEvent | null;
      proof?: string[];
    }
  | { kind: 'unsealed'; event: ExportedEvent; reason: string; refused: boolean };

const exported = (e: RecordedEvent): ExportedEvent => ({
  streamId: e.streamId,
  revision: e.revision,
  position: e.position.toString(),
  type: e.type,
  data: e.data,
  metadata: e.metadata,
});
const line = (value: ExportLine) => `${JSON.stringify(value)}\n`;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function* exportLines(deps: {
  store: EventStore;
  log: AuditLog;
  digest: SignedDigest;
  /** Null: the whole log. */
  scope: { actor: Actor; hierarchy: HierarchyView } | null;
}): AsyncGenerator<string> {
  const { store, log, digest, scope } = deps;
  yield line({ kind: 'digest', ...digest });
  const refusedAt = new Map(log.refused().map((r) => [r.position.toString(), r]));
  // Events after the digest's last leaf belong to later trees; only refusals are reported past it.
  const lastCovered = digest.treeSize > 0 ? (log.leaves(digest.treeSize - 1, 1)[0]?.position ?? -1n) : -1n;
  const leafLine = (leaf: SealedLeaf, event: RecordedEvent | undefined): ExportLine => ({
    kind: 'leaf',
    index: leaf.index,
    leafHash: leaf.hash.toString('hex'),
    streamId: leaf.streamId,
    revision: leaf.revision,
    position: leaf.position.toString(),
    eventId: leaf.eventId,
    event: event ? exported(event) : null,
    ...(scope ? { proof: inclusionProof(log, leaf.index, digest.treeSize).map((h) => h.toString('hex')) } : {}),
  });
  const unsealedLine = (event: RecordedEvent): ExportLine | undefined => {
    const refused = refusedAt.get(event.position.toString());
    if (!refused && event.position > lastCovered) return undefined;
    return { kind: 'unsealed', event: exported(event), reason: refused?.reason ?? UNSEALED_REASON, refused: refused !== undefined };
  };

  async function* merge(events: AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>, leaves: Iterator<SealedLeaf>): AsyncGenerator<string> {
    let next = leaves.next();
    let count = 0;
    for await (const event of events) {
      while (!next.done && next.value.position < event.position) {
        yield line(leafLine(next.value, undefined));
        next = leaves.next();
      }
      if (!next.done && next.value.position === event.position) {
        yield line(leafLine(next.value, event));
        next = leaves.next();
      } else {
        const unsealed = unsealedLine(event);
        if (unsealed) yield line(unsealed);
      }
      if (++count % 1000 === 0) await yieldToLoop();
    }
    for (; !next.done; next = leaves.next()) yield line(leafLine(next.value, undefined));
  }

  if (!scope) {
    function* allLeaves(): Generator<SealedLeaf> {
      for (let from = 0; from < digest.treeSize; ) {
        const batch = log.leaves(from, Math.min(1000, digest.treeSize - from));
        if (batch.length === 0) return;
        yield* batch;
        from += batch.length;
      }
    }
    yield* merge(store.readAll(), allLeaves());
    return;
  }
  for await (const { streamId, events } of streamsInScope(store, log, scope.actor, scope.hierarchy)) {
    yield* merge(events, log.leavesOfStream(streamId).filter((leaf) => leaf.index < digest.treeSize)[Symbol.iterator]());
  }
}
