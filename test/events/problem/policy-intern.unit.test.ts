import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { problemFoundSchema, type ProblemFound } from '../../../events/problem/events.js';
import { POLICY_V1 } from '../../../events/problem/policy.js';
import { internedPolicyCount, jsonKey } from '../../../events/problem/policy-intern.js';
import { decodeEvent } from '../../../events/registry.js';

const found = {
  problemId: 'P-1',
  targetUnitId: '533423101201',
  responsibleUnitId: '533423101',
  category: 'water',
  source: 'inspection',
  description: '部分建档立卡户饮水安全保障不稳定',
  severity: 'high',
  deadline: '2026-06-30T23:59:59+08:00',
  policy: POLICY_V1,
};

/** As a store hands it over: a fresh JSON value every time. */
const stored = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const decodeFound = (data: unknown) => decodeEvent('ProblemFound', 2, data) as ProblemFound;
const outcome = (decode: () => unknown) => {
  try {
    return { ok: true, value: decode() };
  } catch (error) {
    return { ok: false, details: (error as { details?: unknown }).details };
  }
};

describe('ProblemFound decoding shares one validated policy per distinct content', () => {
  it('given two stored ProblemFound with the same policy, when decoded, then both hold the same frozen object', () => {
    const a = decodeFound(stored(found));
    const b = decodeFound(stored({ ...found, problemId: 'P-2' }));
    expect(a.data.policy).toBe(b.data.policy);
    expect(a.data.policy).toEqual(POLICY_V1);
    expect(Object.isFrozen(a.data.policy)).toBe(true);
    expect(Object.isFrozen(a.data.policy.reminderOffsets)).toBe(true);
    expect(Object.isFrozen(a.data.policy.severityOverrides.high)).toBe(true);
    expect(b.data.problemId).toBe('P-2');
  });

  it('given a cached policy and a key after it (foundAt), when decoded, then the keys come in the schema order, as zod gives them', () => {
    const late = { ...found, problemId: 'P-3', foundAt: '2026-04-20T00:00:00+08:00' };
    decodeFound(stored(late));
    const repeated = decodeFound(stored({ ...late, problemId: 'P-4' }));
    expect(Object.keys(repeated.data)).toEqual(Object.keys(problemFoundSchema.parse(stored(late))));
  });

  it('given a different policy, when decoded, then it is validated and kept distinct', () => {
    const v1 = decodeFound(stored(found)).data.policy;
    const other = decodeFound(stored({ ...found, policy: { ...POLICY_V1, version: 2, acknowledgeWithin: 'P5D' } })).data
      .policy;
    expect(other).not.toBe(v1);
    expect(other.acknowledgeWithin).toBe('P5D');
    expect(other.version).toBe(2);
    expect(v1.acknowledgeWithin).toBe('P2D');
    // Same content as an earlier one: shared again.
    const again = decodeFound(stored({ ...found, policy: { ...POLICY_V1, version: 2, acknowledgeWithin: 'P5D' } }));
    expect(again.data.policy).toBe(other);
  });

  it('given a cached valid policy, when a near copy is invalid, then it is still refused', () => {
    decodeFound(stored(found));
    const count = internedPolicyCount();
    for (const policy of [
      { ...POLICY_V1, acknowledgeWithin: 'PT0S' },
      { ...POLICY_V1, timeZone: 'Mars/Olympus' },
      { ...POLICY_V1, extra: true },
      { ...POLICY_V1, reminderOffsets: [] },
      { ...POLICY_V1, version: 0 },
    ]) {
      expect(() => decodeFound(stored({ ...found, policy }))).toThrow(expect.objectContaining({ rule: 'event.decode' }));
    }
    expect(internedPolicyCount()).toBe(count);
  });

  it('given a cached policy, when the rest of the event is invalid, then it is refused with the schema issues', () => {
    decodeFound(stored(found));
    const bad = stored({ ...found, severity: 'extreme', extra: 1 });
    const expected = problemFoundSchema.safeParse(bad);
    expect(expected.success).toBe(false);
    expect(() => decodeFound(bad)).toThrow(
      expect.objectContaining({
        rule: 'event.decode',
        details: expect.objectContaining({
          issues: expected.error!.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
        }) as unknown,
      }),
    );
  });

  it('given a v1 ProblemFound, when upcast, then it shares the policy of v2 events with policy v1', () => {
    const { policy: _, source: __, ...v1 } = found;
    expect(decodeEvent('ProblemFound', 1, stored(v1))).toMatchObject({ data: { source: 'inspection', policy: POLICY_V1 } });
    expect((decodeEvent('ProblemFound', 1, stored(v1)) as ProblemFound).data.policy).toBe(decodeFound(stored(found)).data.policy);
  });

  it('keys only plain JSON values, so anything JSON.stringify would blur takes the uncached path', () => {
    expect(jsonKey({ a: [1, 'x', null, true, { b: 2 }] })).toBe('{"a":[1,"x",null,true,{"b":2}]}');
    const hole: unknown[] = [1];
    hole[2] = 3;
    class Policy {
      version = 1;
    }
    for (const odd of [
      { a: undefined },
      { a: Number.NaN },
      { a: Infinity },
      { a: -0 },
      { a: new Date(0) },
      { a: () => 1 },
      { a: 1n },
      hole,
      Object.assign([1], { extra: 2 }),
      new Policy(),
      { toJSON: () => ({}) },
    ]) {
      expect(jsonKey(odd)).toBeUndefined();
    }
  });

  it('given the policy decided last, when a near copy that is not the same JSON value follows, then the schema decides it', () => {
    decodeFound(stored(found));
    const hole: unknown[] = ['P3D'];
    hole.length = 2;
    class Offsets extends Array {}
    for (const policy of [
      { ...POLICY_V1, reminderOffsets: hole },
      { ...POLICY_V1, reminderOffsets: Offsets.from(POLICY_V1.reminderOffsets) },
      { ...POLICY_V1, version: '1' },
      { ...POLICY_V1, severityOverrides: { high: { ...POLICY_V1.severityOverrides.high, acknowledgeWithin: undefined } } },
      { ...POLICY_V1, extra: undefined },
      Object.assign(Object.create({ inherited: true }) as object, POLICY_V1),
    ]) {
      const data = { ...found, policy };
      const parsed = problemFoundSchema.safeParse(data);
      const decoded = outcome(() => decodeFound(data));
      expect(decoded.ok, JSON.stringify(policy)).toBe(parsed.success);
      if (parsed.success) expect(decoded.value).toMatchObject({ data: parsed.data });
    }
  });

  it('given a policy that is not plain JSON, when decoded, then the schema alone decides', () => {
    decodeFound(stored(found));
    for (const policy of [{ ...POLICY_V1, extra: undefined }, { ...POLICY_V1, version: Number.NaN }, new Date(0)]) {
      const data = { ...found, policy };
      expect(outcome(() => decodeFound(data)).ok).toBe(problemFoundSchema.safeParse(data).success);
    }
  });
});

// Random ProblemFound data near the valid ones: each field mostly valid, sometimes broken, drawn from small
// pools so policies repeat and many decodes after the first hit the cache, with valid and invalid rests.
const mostly = (valid: unknown[], broken: unknown[]) =>
  fc.oneof({ weight: 25, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom(...broken) });
/** An optional key, present `percent` of the time (with a value that may or may not be allowed). */
const sometimes = (key: string, value: fc.Arbitrary<unknown>, percent = 50) =>
  fc.oneof(
    { weight: 100 - percent, arbitrary: fc.constant({}) },
    { weight: percent, arbitrary: value.map((v) => ({ [key]: v })) },
  );
const duration = mostly(['P2D', 'P1D', 'PT12H'], ['PT0S', 'P0D', 'soon', '', 3, null]);
const policyArb = fc
  .tuple(
    fc.record({
      version: mostly([1, 2], [0, -1, 1.5, '1']),
      acknowledgeWithin: duration,
      reminderOffsets: mostly([['P3D', 'P1D'], ['P1D']], [[], ['P1D', 'PT0S'], 'P1D']),
      escalationInterval: duration,
      repeatReminderEvery: duration,
    }),
    sometimes('timeZone', mostly(['Asia/Shanghai', 'Asia/Urumqi'], ['Mars/Olympus', 7])),
    sometimes('topLevel', mostly(['prefecture', 'county'], ['province'])),
    sometimes(
      'severityOverrides',
      mostly(
        [{}, { high: { acknowledgeWithin: 'P1D', escalationInterval: 'P1D' } }, { low: { reminderOffsets: ['P5D'] } }],
        [{ high: { acknowledgeWithin: 'PT0S' } }, { extreme: {} }],
      ),
    ),
    sometimes('extra', fc.constant(true), 5),
  )
  .map((parts) => Object.assign({}, ...parts) as unknown);
const foundArb = fc
  .tuple(
    fc.record({
      problemId: mostly(['P-1', 'P-2'], ['P 1', '']),
      targetUnitId: fc.constant('533423101201'),
      responsibleUnitId: mostly(['533423101'], [5]),
      category: mostly(['water', 'housing'], ['weather']),
      source: mostly(['audit', 'inspection'], ['rumour']),
      description: mostly(['饮水安全'], ['']),
      severity: mostly(['low', 'high'], ['extreme']),
      deadline: mostly(['2026-06-30T23:59:59+08:00'], ['2026-06-30']),
      policy: fc.oneof({ weight: 25, arbitrary: policyArb }, { weight: 1, arbitrary: fc.constantFrom<unknown>('P2D', null) }),
    }),
    sometimes('extra', fc.constant(1), 5),
  )
  .map(([data, extra]) => ({ ...data, ...extra }));

const viaSchema = (data: unknown) => {
  const parsed = problemFoundSchema.safeParse(data);
  return parsed.success
    ? { ok: true, data: parsed.data }
    : { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) };
};
const viaRegistry = (data: unknown) => {
  try {
    return { ok: true, data: decodeFound(data).data };
  } catch (error) {
    return { ok: false, issues: (error as { details: { issues: unknown } }).details.issues };
  }
};

describe('the interned decoding accepts and rejects exactly what problemFoundSchema does', () => {
  it('for random stored ProblemFound data, first and repeated decodes alike', () => {
    fc.assert(
      fc.property(foundArb, (data) => {
        const expected = viaSchema(stored(data));
        // The first decode may validate and cache the policy, the second uses the cache.
        expect(viaRegistry(stored(data))).toEqual(expected);
        expect(viaRegistry(stored(data))).toEqual(expected);
      }),
      { numRuns: 1500 },
    );
  }, 60_000);

  it('draws enough cache hits, valid and invalid, to mean something', () => {
    const samples = fc.sample(foundArb, { numRuns: 3000, seed: 7 }).map(stored);
    const valid = samples.filter((d) => problemFoundSchema.safeParse(d).success).length;
    const validPolicyBadRest = samples.filter((d) => {
      const { policy, ...rest } = d as { policy: unknown };
      return (
        problemFoundSchema.safeParse({ ...(rest as object), ...{ policy } }).success === false &&
        problemFoundSchema.shape.policy.safeParse(policy).success
      );
    }).length;
    expect(valid).toBeGreaterThan(300);
    expect(validPolicyBadRest).toBeGreaterThan(300);
  }, 60_000);
});
