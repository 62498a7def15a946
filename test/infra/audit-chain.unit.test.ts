import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEvent } from '../../events/envelope.js';
import { canonicalJson, canonicalMetadata, ChainVerifier, linkEvent } from '../../infra/event-store/audit-chain.js';

const metadata = (): NewEvent['metadata'] => ({
  eventId: randomUUID(),
  occurredAt: '2026-06-30T23:59:59+08:00',
  actor: { userId: '用户"1"\\', unitId: '533423', role: 'supervisor' },
  correlationId: 'corr\n1',
  causationId: 'cause',
  schemaVersion: 2,
});

function chain(streamId: string, datas: unknown[]): RecordedEvent[] {
  let prevHash: string | null = null;
  return datas.map((data, revision) => {
    const linked = linkEvent(streamId, revision, { type: 'T', data, metadata: metadata() }, '2026-07-01T00:00:00.000Z', prevHash);
    prevHash = linked.hash;
    return { streamId, revision, position: BigInt(revision + 1), type: 'T', data: JSON.parse(linked.dataText) as unknown, metadata: JSON.parse(linked.metadataText) as RecordedEvent['metadata'] };
  });
}

describe('canonical JSON', () => {
  it('sorts keys at every depth, drops undefined members and keeps JSON.stringify scalars', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: '维西' }, e: undefined, f: null })).toBe(
      '{"a":{"c":"维西","d":[3,{"z":1}]},"b":1,"f":null}',
    );
    expect(canonicalJson([undefined, () => 1, Number.NaN, new Date(0)])).toBe('[null,null,null,"1970-01-01T00:00:00.000Z"]');
    expect(canonicalJson('引号"与\\反斜杠\n')).toBe(JSON.stringify('引号"与\\反斜杠\n'));
  });

  it('writes safe bigints as digits and refuses unsafe ones', () => {
    expect(canonicalJson({ n: 42n })).toBe('{"n":42}');
    expect(() => canonicalJson({ n: 2n ** 60n })).toThrow(/round-trip/);
  });

  it('writes a value whose keys are already in order (the fast path) as it writes the same value shuffled', () => {
    const reversed = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reversed);
      if (typeof value !== 'object' || value === null) return value;
      return Object.fromEntries(Object.keys(value).reverse().map((k) => [k, reversed((value as Record<string, unknown>)[k])]));
    };
    const values = fc.oneof(
      fc.jsonValue(),
      fc.object({ values: [fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constant(-0)] }),
    );
    fc.assert(
      fc.property(values, (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(reversed(value))).toBe(text);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
    expect(canonicalJson({ a: { toJSON: () => 'x' }, b: [new Date(0), 1n] })).toBe('{"a":"x","b":["1970-01-01T00:00:00.000Z",1]}');
    // Out of order, so copied into order: unless something inside needs the general writer.
    expect(canonicalJson({ b: { d: [1, { f: 2, e: 1 }], c: new Date(0) }, a: 1 })).toBe('{"a":1,"b":{"c":"1970-01-01T00:00:00.000Z","d":[1,{"e":1,"f":2}]}}');
    expect(canonicalJson({ b: 1, 10: 'x', 9: 'y' })).toBe('{"10":"x","9":"y","b":1}');
    expect(canonicalJson(JSON.parse('{"b":1,"__proto__":2}'))).toBe('{"__proto__":2,"b":1}');
  });

  it('writes any JSON value with its keys sorted by code unit', () => {
    // Integer-like keys come first in any object's own order, so the reference writes members itself.
    const reference = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(reference).join(',')}]`
        : v !== null && typeof v === 'object'
          ? `{${Object.keys(v)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${reference((v as Record<string, unknown>)[k])}`)
              .join(',')}}`
          : JSON.stringify(v);
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('is the same text for the same value whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: [1, 2], z: { b: 2, a: 1 } })).toBe(canonicalJson({ z: { a: 1, b: 2 }, y: [1, 2], x: 1 }));
  });

  it('writes envelope metadata on its fast path exactly as the general path does', () => {
    const m = metadata();
    for (const prevHash of [null, 'ab'.repeat(32)]) {
      expect(canonicalMetadata(m, '2026-07-01T00:00:00.000Z', prevHash)).toBe(
        canonicalJson({ ...m, recordedAt: '2026-07-01T00:00:00.000Z', prevHash }),
      );
    }
    const extended = { ...m, extra: 'x' } as NewEvent['metadata'];
    expect(canonicalMetadata(extended, 't', null)).toBe(canonicalJson({ ...extended, recordedAt: 't', prevHash: null }));
  });
});

describe('chain verification', () => {
  const check = (events: RecordedEvent[]) => {
    const verifier = new ChainVerifier();
    for (const e of events) {
      const broken = verifier.check(e);
      if (broken) return broken;
    }
    return { ok: true as const, checked: verifier.checked };
  };

  it('given an intact chain, then every link holds', () => {
    expect(check(chain('s', [{ a: 1 }, { b: '整改' }, { c: [1, 2] }]))).toEqual({ ok: true, checked: 3 });
  });

  it('reports the first event whose content changed', () => {
    const events = chain('s', [{ a: 1 }, { a: 2 }, { a: 3 }]);
    events[1] = { ...events[1]!, data: { a: 20 } };
    expect(check(events)).toMatchObject({ ok: false, checked: 1, brokenAt: { streamId: 's', revision: 1, position: 2n, reason: expect.stringMatching(/hash/) } });
  });

  it('reports a changed recordedAt, a missing event and an event whose hash was recomputed without its predecessor', () => {
    const edited = chain('s', [{ a: 1 }, { a: 2 }]);
    edited[0] = { ...edited[0]!, metadata: { ...edited[0]!.metadata, recordedAt: '2020-01-01T00:00:00.000Z' } };
    expect(check(edited)).toMatchObject({ ok: false, brokenAt: { revision: 0 } });

    const gap = chain('s', [{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(check([gap[0]!, gap[2]!])).toMatchObject({ ok: false, brokenAt: { revision: 2, reason: expect.stringMatching(/missing/) } });

    const resealed = chain('s', [{ a: 1 }, { a: 2 }]);
    const forged = chain('s', [{ a: 9 }, { a: 2 }]);
    expect(check([forged[0]!, resealed[1]!])).toMatchObject({ ok: false, brokenAt: { revision: 1, reason: expect.stringMatching(/prevHash/) } });
  });
});
