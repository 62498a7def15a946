import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newEventMetadataSchema } from '../../events/envelope.js';
import { metadataHolds, validateNewEvents } from '../../infra/event-store/append-rules.js';

/** Values near each rule's edges, of every JSON type and a few that are not JSON. */
const oddValue = fc.oneof(
  fc.string({ maxLength: 3 }),
  fc.string({ minLength: 199, maxLength: 202 }),
  fc.string({ minLength: 99, maxLength: 101 }),
  fc.constantFrom('', ' ', '\u0000', '中文', 'admin', 'cadre', 'root', 'Admin'),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 1e300),
  fc.boolean(),
  fc.constantFrom(null, undefined, [], {}, ['x'], new Date(0)),
);
const uuidLike = fc.oneof(
  fc.uuid(),
  fc.constant(randomUUID().toUpperCase()),
  fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '123e4567-e89b-02d3-a456-426614174000'),
  fc.uuid().map((u) => u.slice(1)),
  fc.uuid().map((u) => `${u} `),
  fc.uuid().map((u) => u.replaceAll('-', '')),
);
const timeLike = fc.oneof(
  fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2026-04-30T10:15:00+08:00',
    '2026-04-30T10:15:00.123456+08:00',
    '2026-04-30T10:15:00',
    '2026-04-30T10:15+08:00',
    '2026-02-29T10:15:00Z',
    '2024-02-29T10:15:00Z',
    '2026-04-31T10:15:00Z',
    '2026-04-30 10:15:00Z',
    '2026-04-30T24:00:00Z',
    '2026-04-30T10:15:00+0800',
    '2026-04-30',
  ),
);
/** Mostly a good value, sometimes an odd one: each field is wrong alone often enough. */
const mostly = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: good }, { weight: 1, arbitrary: oddValue });
/** Short ids, and ids around the 100 and 200 character limits. */
const idLike = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 98, maxLength: 102 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 198, maxLength: 202 }) },
);
const actor = fc.record({
  userId: mostly(idLike),
  unitId: mostly(idLike),
  role: mostly(fc.constantFrom('admin', 'supervisor', 'cadre', 'inspector', 'system')),
});
const metadata = fc.record({
  eventId: mostly(uuidLike),
  occurredAt: mostly(timeLike),
  actor: fc.oneof({ weight: 5, arbitrary: actor }, { weight: 1, arbitrary: oddValue }),
  correlationId: mostly(idLike),
  causationId: mostly(idLike),
  schemaVersion: mostly(fc.integer({ min: 1, max: 5 })),
});
/** Keys taken away, unknown ones added, the actor's too, or the whole thing not an object. */
const shaped = fc
  .tuple(
    metadata,
    fc.subarray(['eventId', 'occurredAt', 'actor', 'correlationId', 'causationId', 'schemaVersion'], { maxLength: 1 }),
    fc.option(fc.constantFrom('extra', 'hash', 'recordedAt', '__proto__')),
    fc.option(fc.constantFrom('extra', 'role2')),
  )
  .map(([m, removed, extra, actorExtra]) => {
    const out: Record<string, unknown> = { ...m };
    for (const key of removed) delete out[key];
    if (extra) Object.defineProperty(out, extra, { value: 'x', enumerable: true });
    if (actorExtra && typeof out['actor'] === 'object' && out['actor'] !== null) out['actor'] = { ...out['actor'], [actorExtra]: 'x' };
    return out;
  });

describe('append rules: the quick metadata check', () => {
  it('agrees with newEventMetadataSchema on generated metadata, valid and not', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof({ weight: 6, arbitrary: metadata }, { weight: 3, arbitrary: shaped }, { weight: 1, arbitrary: oddValue }), (m) => {
        const verdict = newEventMetadataSchema.safeParse(m).success;
        expect(metadataHolds(m)).toBe(verdict);
        if (verdict) accepted++;
      }),
      { numRuns: 2000 },
    );
    // The generator reaches both verdicts often enough for the agreement to mean something.
    expect(accepted).toBeGreaterThan(50);
  }, 60_000);

  it('refuses what the schema refuses, with the schema’s reasons', () => {
    const good = {
      eventId: randomUUID(),
      occurredAt: '2026-04-30T10:15:00+08:00',
      actor: { userId: 'u1', unitId: '533423', role: 'cadre' as const },
      correlationId: 'c',
      causationId: 'c',
      schemaVersion: 1,
    };
    expect(() => validateNewEvents('s', [{ type: 'T', data: {}, metadata: good }])).not.toThrow();
    const bad = { ...good, occurredAt: '2026-04-31T10:15:00Z' };
    expect(() => validateNewEvents('s', [{ type: 'T', data: {}, metadata: bad }])).toThrow(
      expect.objectContaining({ rule: 'store.event_metadata', details: expect.objectContaining({ issues: expect.any(Array) }) }),
    );
  });
});
