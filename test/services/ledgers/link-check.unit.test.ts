import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../events/envelope.js';
import { linkBreak, linkEvent, storedEvent } from '../../../infra/event-store/audit-chain.js';
import { auditLinkBreak } from '../../../services/ledgers/link-check.js';

/** The texts a store keeps an event as (linkEvent's). */
function storedTexts(streamId: string, revision: number, type: string, data: unknown, prevHash: string | null, actor: { userId: string; unitId: string }) {
  return linkEvent(
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
}

/** An event with its stored texts parsed into a plain object (as a store without the texts reads it). */
function stored(streamId: string, revision: number, type: string, data: unknown, prevHash: string | null, actor: { userId: string; unitId: string }): RecordedEvent {
  const linked = storedTexts(streamId, revision, type, data, prevHash, actor);
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

/** Ways a store's texts can differ from what was hashed, each still JSON; the envelope may differ too. */
interface Texts {
  streamId: string;
  revision: number;
  type: string;
  dataText: string;
  metadataText: string;
}
const reformat = (text: string) => JSON.stringify(JSON.parse(text), null, 1);
const textMutation = fc.oneof(
  fc.constant((t: Texts) => t),
  json.map((value) => (t: Texts) => ({ ...t, dataText: JSON.stringify(value) ?? 'null' })),
  fc.constant((t: Texts) => ({ ...t, dataText: reformat(t.dataText) })),
  fc.constant((t: Texts) => ({ ...t, metadataText: reformat(t.metadataText) })),
  hex.map((other) => (t: Texts) => ({ ...t, metadataText: t.metadataText.replace(/"hash":"[0-9a-f]{64}"/, `"hash":"${other}"`) })),
  fc.constant((t: Texts) => ({ ...t, metadataText: `${t.metadataText.slice(0, -1)},"x":1}` })),
  fc.constant((t: Texts) => {
    const { hash, ...rest } = JSON.parse(t.metadataText) as Record<string, unknown>;
    return { ...t, metadataText: JSON.stringify({ hash, ...rest }) };
  }),
  fc.constant((t: Texts) => ({ ...t, metadataText: t.metadataText.replace('"schemaVersion":1', '"schemaVersion":2') })),
  fc.constant((t: Texts) => ({ ...t, revision: t.revision + 1 })),
  fc.constant((t: Texts) => ({ ...t, streamId: `${t.streamId}x` })),
  fc.constant((t: Texts) => ({ ...t, type: 'ProblemCleared' })),
);

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

  it('gives the verdict on their values to events read with their stored texts, edited or not', () => {
    fc.assert(
      fc.property(
        text,
        fc.nat({ max: 3 }),
        json,
        fc.option(hex, { nil: null }),
        fc.record({ userId: text, unitId: text }),
        textMutation,
        fc.option(hex, { nil: undefined }),
        (stream, revision, data, prev, actor, mutate, previousHash) => {
          const streamId = `problem-${stream}`;
          const linked = storedTexts(streamId, revision, 'ProblemFound', data, revision === 0 ? null : prev, actor);
          const t = mutate({ streamId, revision, type: 'ProblemFound', dataText: linked.dataText, metadataText: linked.metadataText });
          const event = storedEvent(t.streamId, t.revision, BigInt(t.revision + 1), t.type, t.dataText, t.metadataText);
          const previous = previousHash ?? (revision > 0 && prev !== null ? prev : undefined);
          // A copy is a plain object, without the stored texts: checked on its values.
          const verdict = linkBreak({ ...event }, previous);
          expect(auditLinkBreak(event, previous)).toBe(verdict);
          expect(linkBreak(event, previous)).toBe(verdict);
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
