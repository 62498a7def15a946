import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../events/envelope.js';
import { linkBreak, linkEvent } from '../../../infra/event-store/audit-chain.js';
import { auditLinkBreak } from '../../../services/ledgers/link-check.js';

/** An event as a store reads it back: its stored texts parsed, as infra/event-store/reading.ts does. */
function stored(streamId: string, revision: number, type: string, data: unknown, prevHash: string | null, actor: { userId: string; unitId: string }): RecordedEvent {
  const linked = linkEvent(
    streamId,
    revision,
    {
      type,
      data,
      metadata: {
        eventId: '7d3f1c2e-9a4b-4c5d-8e6f-0a1b2c3d4e5f',
        occurredAt: '2027-01-01T00:00:00+08:00',
        actor: { ...actor, role: 'cadre' },
        correlationId: 'c-1',
        causationId: 'c-1',
        schemaVersion: 1,
      },
    },
    '2027-01-01T00:00:01.000Z',
    prevHash,
  );
  return {
    streamId,
    revision,
    position: BigInt(revision + 1),
    type,
    data: JSON.parse(linked.dataText) as unknown,
    metadata: JSON.parse(linked.metadataText) as RecordedEvent['metadata'],
  };
}

const json = fc.jsonValue({ maxDepth: 3 });
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const hex = fc.stringMatching(/^[0-9a-f]{64}$/);

/** Ways an event can differ from what was hashed: each keeps linkBreak's verdict the one to match. */
const mutation = fc.oneof(
  fc.constant((e: RecordedEvent) => e),
  fc.record({ value: json }).map(({ value }) => (e: RecordedEvent) => ({ ...e, data: value })),
  fc.record({ key: text, value: json }).map(({ key, value }) => (e: RecordedEvent) => ({ ...e, data: { ...(e.data as object), [key]: value } })),
  fc.record({ key: fc.constantFrom('eventId', 'occurredAt', 'recordedAt', 'correlationId', 'causationId', 'prevHash', 'hash'), value: fc.oneof(text, hex, fc.constant(null)) }).map(
    ({ key, value }) =>
      (e: RecordedEvent) => ({ ...e, metadata: { ...e.metadata, [key]: value } }),
  ),
  fc.constant((e: RecordedEvent) => ({ ...e, metadata: { ...e.metadata, schemaVersion: 2 } })),
  fc.constant((e: RecordedEvent) => ({ ...e, metadata: { ...e.metadata, actor: { ...e.metadata.actor, role: 'admin' as const } } })),
  // The same members in another order, or one more member: still the same values to canonical JSON.
  fc.constant((e: RecordedEvent) => {
    const { hash, actor, ...rest } = e.metadata;
    return { ...e, metadata: { hash, ...rest, actor } as RecordedEvent['metadata'] };
  }),
  fc.constant((e: RecordedEvent) => {
    const { userId, unitId, role } = e.metadata.actor;
    return { ...e, metadata: { ...e.metadata, actor: { userId, unitId, role } } };
  }),
  fc.constant((e: RecordedEvent) => ({ ...e, metadata: { ...e.metadata, extra: 'x' } as RecordedEvent['metadata'] })),
  fc.constant((e: RecordedEvent) => {
    const { prevHash: _drop, ...rest } = e.metadata;
    return { ...e, metadata: rest as RecordedEvent['metadata'] };
  }),
  fc.constant((e: RecordedEvent) => ({ ...e, revision: e.revision + 1 })),
  fc.constant((e: RecordedEvent) => ({ ...e, streamId: `${e.streamId}x` })),
  fc.constant((e: RecordedEvent) => ({ ...e, type: 'ProblemCleared' })),
);

describe('the projection\'s audit link check', () => {
  it('gives linkBreak\'s verdict on stored events, edited events and foreign shapes', () => {
    fc.assert(
      fc.property(
        text,
        fc.nat({ max: 3 }),
        json,
        fc.option(hex, { nil: null }),
        fc.record({ userId: text, unitId: text }),
        mutation,
        fc.option(hex, { nil: undefined }),
        (stream, revision, data, prev, actor, mutate, previousHash) => {
          const event = mutate(stored(`problem-${stream}`, revision, 'ProblemFound', data, revision === 0 ? null : prev, actor));
          const previous = previousHash ?? (revision > 0 && prev !== null ? prev : undefined);
          expect(auditLinkBreak(event, previous)).toBe(linkBreak(event, previous));
        },
      ),
      { numRuns: 1500 },
    );
  }, 120_000);

  it('passes an untouched stored event and refuses an edited one', () => {
    const event = stored('unit-533423', 0, 'UnitRegistered', { level: 'county', name: '维西县', parentId: '533400', unitId: '533423' }, null, { userId: 'admin', unitId: '533400' });
    expect(auditLinkBreak(event, undefined)).toBeUndefined();
    const edited = { ...event, data: { ...(event.data as object), name: '伪造县' } };
    expect(auditLinkBreak(edited, undefined)).toBe('audit chain: the hash does not match the event content');
    const next = stored('unit-533423', 1, 'UnitRegistered', {}, '0'.repeat(64), { userId: 'admin', unitId: '533400' });
    expect(auditLinkBreak(next, event.metadata.hash)).toBe('audit chain: prevHash does not match the hash of the previous event in the stream');
  });
});
