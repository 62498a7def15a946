import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEvent } from '../../../events/envelope.js';
import { canonicalJson, hashHolds, linkEvent } from '../../../infra/event-store/audit-chain.js';
import { eventLeafHash, leafEntry, linkWitnessMac, sealingChecks, witnessMac, writerMetadata } from '../../../services/audit/leaf.js';
import { leafHash } from '../../../services/audit/merkle.js';

/**
 * The leaf and the witness are defined as canonicalJson of one object each; the sealer writes them (and
 * the hash link) member by member from one canonical text of the data. These pin the member-by-member
 * texts to the definitions, for any data and metadata a store may hand back, tampered ones included.
 */
const key = Buffer.alloc(32, 7);

/** The definitions, written the direct way. */
const reference = {
  leafEntry: (e: RecordedEvent) =>
    canonicalJson({ data: e.data, metadata: e.metadata, position: e.position.toString(), revision: e.revision, streamId: e.streamId, type: e.type }),
  witness: (streamId: string, revision: number, e: { type: string; data: unknown; metadata: unknown }) =>
    createHmac('sha256', key)
      .update(canonicalJson({ data: e.data, metadata: e.metadata, revision, streamId, type: e.type }))
      .digest(),
};

const newEvent: NewEvent = {
  type: 'ProblemFound',
  data: { z: 1, problemId: 'p1', description: '危房改造"未完成"\n', evidence: [{ uri: 'u', kind: 'photo' }] },
  metadata: {
    eventId: '00000000-0000-4000-8000-000000000001',
    occurredAt: '2027-06-30T10:00:00+08:00',
    actor: { userId: 'cadre-1', unitId: '533423103201', role: 'cadre' },
    correlationId: 'c',
    causationId: 'http:test',
    schemaVersion: 1,
  },
};

function stored(event: NewEvent, revision = 3, position = 12345678901n): RecordedEvent {
  const linked = linkEvent('problem-p1', revision, event, '2027-06-30T02:00:00.000Z', 'ab'.repeat(32));
  return {
    streamId: 'problem-p1',
    revision,
    position,
    type: event.type,
    data: JSON.parse(linked.dataText) as unknown,
    metadata: JSON.parse(linked.metadataText) as RecordedEvent['metadata'],
  };
}

const json = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown>;
const anyKeys = fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('hash', 'prevHash', 'recordedAt', 'eventId', '10', '9', '维西')), json, {
  maxKeys: 8,
});

describe('audit leaf and witness texts', () => {
  it('keep the leaf hash and the witness of audit files written before (fixed vectors)', () => {
    const event = stored(newEvent);
    // Computed with the whole-object canonicalJson definitions before the member-by-member writer.
    expect(eventLeafHash(event).toString('hex')).toBe('6541fcdcaa743de34fb9b7741e2a7e777737b2989845c51d2b7cb8d602cf700e');
    expect(witnessMac(key, 'problem-p1', 3, newEvent).toString('hex')).toBe('fed08b9310f61112b6ff86cc5083477b50fb507bd7bc1824f7cdfce08653ad8d');
    const checks = sealingChecks(key, event, 'text');
    expect(checks.mac.toString('hex')).toBe('fed08b9310f61112b6ff86cc5083477b50fb507bd7bc1824f7cdfce08653ad8d');
    expect(checks.linkHolds).toBe(true);
    expect(checks.leafHash.toString('hex')).toBe('6541fcdcaa743de34fb9b7741e2a7e777737b2989845c51d2b7cb8d602cf700e');
    // The witness appends write now: an HMAC of the stored hash link.
    const overLink = createHmac('sha256', key).update(event.metadata.hash).digest();
    expect(linkWitnessMac(key, event.metadata.hash).equals(overLink)).toBe(true);
    expect(sealingChecks(key, event, 'link')).toEqual({ ...checks, mac: overLink });
    expect(sealingChecks(key, { ...event, metadata: { ...event.metadata, hash: 'cd'.repeat(32) } }, 'link').mac.equals(overLink)).toBe(false);
  });

  it('write the leaf, the witness and the link check of any stored event as the definitions do', () => {
    fc.assert(
      fc.property(json, anyKeys, fc.boolean(), fc.nat(1000), (data, extra, tamperHash, revision) => {
        const linked = stored({ ...newEvent, data: data as Record<string, unknown> }, revision);
        // Metadata as a store might hand it back: extra or odd members, members in any order, a hash edited.
        const metadata = { ...extra, ...linked.metadata } as Record<string, unknown>;
        if (tamperHash) metadata.hash = 'cd'.repeat(32);
        const shuffled = Object.fromEntries(Object.entries(metadata).reverse()) as RecordedEvent['metadata'];
        for (const event of [linked, { ...linked, metadata: shuffled }]) {
          const checks = sealingChecks(key, event, 'text');
          expect(leafEntry(event)).toBe(reference.leafEntry(event));
          expect(checks.leafHash.equals(leafHash(reference.leafEntry(event)))).toBe(true);
          expect(checks.mac.equals(reference.witness(event.streamId, event.revision, { ...event, metadata: writerMetadata(event) }))).toBe(true);
          expect(checks.linkHolds).toBe(hashHolds(event));
        }
        expect(sealingChecks(key, linked, 'text').linkHolds).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('fall back to the definitions for metadata that is not a plain object, and for undefined members', () => {
    const event = stored(newEvent);
    for (const metadata of [['a', 1], 'text', null, 7, { ...event.metadata, occurredAt: undefined }] as unknown[]) {
      const odd = { ...event, metadata } as unknown as RecordedEvent;
      expect(leafEntry(odd)).toBe(reference.leafEntry(odd));
    }
    // The sealer asks only for events whose metadata carries an event id.
    for (const metadata of [Object.assign(['a', 1], { eventId: 'e' }), { ...event.metadata, occurredAt: undefined }] as unknown[]) {
      const odd = { ...event, metadata } as unknown as RecordedEvent;
      const checks = sealingChecks(key, odd, 'text');
      expect(checks.leafHash.equals(leafHash(reference.leafEntry(odd)))).toBe(true);
      expect(checks.linkHolds).toBe(hashHolds(odd));
      expect(checks.mac.equals(reference.witness(odd.streamId, odd.revision, { ...odd, metadata: writerMetadata(odd) }))).toBe(true);
    }
    const noData = { ...event, data: undefined };
    expect(leafEntry(noData)).toBe(reference.leafEntry(noData));
    expect(sealingChecks(key, noData, 'text').linkHolds).toBe(false);
    expect(witnessMac(key, 's', 0, { ...newEvent, data: undefined }).equals(reference.witness('s', 0, { ...newEvent, data: undefined }))).toBe(true);
  });
});
