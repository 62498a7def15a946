import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileParser, NOT_SURE } from '../../events/fast-parse.js';
import { problemFoundSchema, problemFoundV1Schema } from '../../events/problem/events.js';
import { POLICY_V1 } from '../../events/problem/policy.js';
import { currentSchemas, decodeEvent, type EventType } from '../../events/registry.js';

/**
 * The compiled parsers of events/fast-parse.ts against zod, on values generated from the schemas
 * themselves: mostly valid, with wrong types, bad strings at the edges of every bound, missing and extra
 * members, foreign objects and arbitrary values mixed in at every depth. A compiled parser must accept
 * exactly what zod accepts and return what zod returns (same members, same key order), and refuse
 * (NOT_SURE, then zod words it) exactly what zod refuses.
 */

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
}
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def; values?: Set<unknown> } })._zod;

const UUIDS = ['0b5c3f0e-8a4d-4c1e-9f6a-2d7b8e9c1a3f', '0B5C3F0E-8A4D-4C1E-9F6A-2D7B8E9C1A3F', '0b5c3f0e-8a4d-4c1e-9f6a-2d7b8e9c1a3', '00000000-0000-0000-0000-000000000000'];
const TIMES = [
  '2026-06-30T23:59:59+08:00',
  '2026-06-30T23:59:59.999Z',
  '2026-06-30T23:59:59',
  '2026-02-30T10:00:00+08:00',
  '2026-06-30',
  '2026-06-30T24:00:00Z',
  '2026-06-30T23:59:59+0800',
];
const HEX = ['a'.repeat(64), 'A'.repeat(64), 'a'.repeat(63), 'g'.repeat(64), '0123456789abcdef'.repeat(4)];
const EDGES = [
  '',
  ' ',
  '\t\n',
  'x',
  '533423101',
  'cadre-1',
  '部分建档立卡户饮水安全保障不稳定',
  '整改措施已全部落实\n群众满意度回访完成\t',
  'a b',
  'a\u0000b',
  'a\u0085b',
  'a\u200bb',
  '\ud800',
  'a\ud83d',
  '😀',
  's3://evidence/P1/x.jpg',
  'photo',
  'record',
  'inspection',
  'overdue',
  'rectification',
  'red',
  'none',
  'P3D',
  ...[1, 50, 99, 100, 101, 199, 200, 201, 1999, 2000, 2001, 3999, 4000, 4001].flatMap((n) => ['x'.repeat(n), '𝒳'.repeat(n), `${'x'.repeat(n - 1)}𝒳`]),
];
const NUMBERS = [0, 1, -1, 2, 7, 10, 11, 50, 51, 100, 101, 1.5, -0, Number.NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 - 1, 1e8, 1e8 + 1, 1e21];

/** Anything a broken or foreign store could hand over. */
const foreign = fc.oneof(
  fc.anything({ withNullPrototype: true, withObjectString: true, withBigInt: true, withDate: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
  fc.constantFrom<unknown>(undefined, null, '', 0, NaN, [], {}, true, 'x'),
);
const sometimes = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary, weight: 12 }, { arbitrary: foreign, weight: 1 });

const POOL = [...UUIDS, ...TIMES, ...HEX, ...EDGES];
const stringValue = fc.oneof(
  { arbitrary: fc.constantFrom(...POOL), weight: 6 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 8 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }), weight: 1 },
);
/** Strings for one leaf: mostly those of the pool zod accepts there (formats are rare otherwise). */
function stringsFor(schema: z.ZodType): fc.Arbitrary<unknown> {
  const valid = POOL.filter((text) => schema.safeParse(text).success);
  return valid.length === 0 ? stringValue : fc.oneof({ arbitrary: fc.constantFrom(...valid), weight: 3 }, { arbitrary: stringValue, weight: 1 });
}

/** Values shaped by the schema, leaves drawn from bounds, formats and their near misses. */
function valuesOf(schema: z.ZodType, key = ''): fc.Arbitrary<unknown> {
  const zod = defOf(schema);
  const { def } = zod;
  switch (def.type) {
    case 'string':
      return stringsFor(schema);
    case 'number':
      return fc.oneof(fc.constantFrom(...NUMBERS), fc.integer({ min: -5, max: 120 }), fc.double());
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.oneof({ arbitrary: fc.constantFrom(...zod.values!), weight: 8 }, { arbitrary: stringValue, weight: 1 });
    case 'optional':
      return fc.option(valuesOf(def.innerType!, key), { nil: undefined, freq: 3 });
    case 'nullable':
      return fc.option(valuesOf(def.innerType!, key), { nil: null, freq: 3 });
    case 'array':
      return fc.oneof(
        { arbitrary: fc.array(sometimes(valuesOf(def.element!)), { minLength: 0, maxLength: 3 }), weight: 8 },
        { arbitrary: fc.array(valuesOf(def.element!), { minLength: 49, maxLength: 51 }), weight: 1 },
      );
    case 'object': {
      if (key === 'policy') return fc.constantFrom<unknown>(POLICY_V1, { ...POLICY_V1, version: 0 }, { ...POLICY_V1, extra: 1 });
      return objectsOf(def.shape!);
    }
    default:
      return foreign;
  }
}

function objectsOf(shape: Record<string, z.ZodType>): fc.Arbitrary<unknown> {
  const members = Object.fromEntries(Object.entries(shape).map(([key, member]) => [key, sometimes(valuesOf(member, key))]));
  const record = fc.record(members, { requiredKeys: [] as string[] });
  const all = fc.record(members);
  return fc
    .tuple(
      fc.oneof({ arbitrary: all, weight: 6 }, { arbitrary: record, weight: 1 }),
      fc.constantFrom('plain', 'plain', 'plain', 'plain', 'reversed', 'extra', 'undefined-extra', 'proto-key', 'null-prototype', 'class', 'array'),
    )
    .map(([value, form]) => reshape(value as Record<string, unknown>, form));
}

class Foreign {
  constructor(members: Record<string, unknown>) {
    Object.assign(this, members);
  }
}

function reshape(value: Record<string, unknown>, form: string): unknown {
  switch (form) {
    case 'reversed':
      return Object.fromEntries(Object.entries(value).reverse());
    case 'extra':
      return { ...value, extra: 'x' };
    case 'undefined-extra':
      return { ...value, extra: undefined };
    case 'proto-key':
      // An own member named __proto__, as JSON.parse makes one.
      return Object.assign(Object.defineProperty({}, '__proto__', { value: { a: 1 }, enumerable: true, writable: true, configurable: true }), value);
    case 'null-prototype':
      return Object.assign(Object.create(null) as object, value);
    case 'class':
      return new Foreign(value);
    case 'array':
      return Object.values(value);
    default:
      return value;
  }
}

/** Equal values with the same own keys in the same order at every depth. */
function same(a: unknown, b: unknown): boolean {
  if (!isDeepStrictEqual(a, b)) return false;
  if (typeof a !== 'object' || a === null) return true;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b as object);
  if (keysA.join('\u0000') !== keysB.join('\u0000')) return false;
  return keysA.every((key) => same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

function agrees(schema: z.ZodType, value: unknown): void {
  const parser = compileParser(schema)!;
  const reference = schema.safeParse(value);
  const fast = parser(value);
  if (reference.success) {
    expect(fast).not.toBe(NOT_SURE);
    expect(same(fast, reference.data)).toBe(true);
  } else {
    expect(fast).toBe(NOT_SURE);
  }
}

const problemFoundWithoutPolicy = problemFoundSchema.omit({ policy: true });
const compiled = Object.entries(currentSchemas).filter(([, schema]) => compileParser(schema) !== undefined);

describe('compiled event parsers agree with zod', () => {
  it('compiles the hot event types of a replay', () => {
    const names = new Set(compiled.map(([type]) => type));
    for (const type of ['ProblemAcknowledged', 'MeasureAssigned', 'MeasureCompleted', 'RectificationSubmitted', 'ProblemCleared', 'ReminderIssued', 'HouseholdRegistered', 'PlanMeasureAdded', 'PlanMeasureCompleted', 'HouseholdAssessed']) {
      expect(names.has(type)).toBe(true);
    }
    expect(compileParser(problemFoundWithoutPolicy)).toBeDefined();
    expect(compileParser(problemFoundV1Schema)).toBeDefined();
  });

  it.each([...compiled.map(([type, schema]) => [type, schema] as const), ['ProblemFound without policy', problemFoundWithoutPolicy] as const, ['ProblemFound v1', problemFoundV1Schema] as const])(
    '%s: same verdict and output as zod on generated values',
    (_type, schema) => {
      let accepted = 0;
      fc.assert(
        fc.property(valuesOf(schema), (value) => {
          agrees(schema, value);
          if (schema.safeParse(value).success) accepted++;
        }),
        { numRuns: 600 },
      );
      // The accepting path was exercised, not only refusals. Some schemas accept few generated values
      // (ReminderIssued: 10 of 600 in a CI run that failed on a bound of 10).
      expect(accepted).toBeGreaterThan(0);
    },
  );

  it('same verdict as zod on arbitrary values', () => {
    fc.assert(
      fc.property(fc.constantFrom(...compiled.map(([, schema]) => schema)), foreign, (schema, value) => agrees(schema, value)),
      { numRuns: 2000 },
    );
  });

  it('a refinement and a custom check are run as zod runs them', () => {
    const refined = z.strictObject({ a: z.string().refine((s) => s.startsWith('k')), n: z.number().int().min(1).max(3).optional(), m: z.string().nullable() });
    for (const value of [{ a: 'ka', m: null }, { a: 'a', m: null }, { a: 'k', n: 2, m: 'x' }, { a: 'k', n: 4, m: 'x' }, { a: 'k', n: undefined, m: null }, { a: 'k' }]) {
      agrees(refined, value);
    }
    // Lengths in code points, as zod counts them: one emoji is two UTF-16 units and one code point.
    const bounded = z.string().min(2).max(3);
    for (const value of ['😀', '😀x', '😀😀', '😀😀x', '😀😀😀😀', 'xxxx', 'x']) agrees(bounded, value);
    const stripping = z.object({ a: z.string() });
    agrees(stripping, { a: 'x', b: 1 });
    expect(compileParser(z.object({ a: z.string().default('x') }))).toBeUndefined();
    expect(compileParser(z.object({ a: z.string().transform((s) => s.length) }))).toBeUndefined();
    expect(compileParser(z.object({ a: z.url() }))).toBeUndefined();
  });
});

/** decodeEvent as it was, every step through zod: the reference the registry's compiled path must equal. */
function decodeByZod(type: EventType, version: number, data: unknown): unknown {
  let value = data;
  if (type === 'ProblemFound' && version === 1) {
    const v1 = problemFoundV1Schema.safeParse(value);
    if (!v1.success) throw Object.assign(new Error('v1'), { issues: v1.error.issues.map((i) => i.message) });
    value = { ...v1.data, source: 'inspection', policy: POLICY_V1 };
  }
  const parsed = currentSchemas[type].safeParse(value);
  if (!parsed.success) throw Object.assign(new Error('current'), { issues: parsed.error.issues.map((i) => i.message) });
  return { type, data: parsed.data };
}

function outcome(decode: () => unknown) {
  try {
    return { ok: true as const, value: decode() };
  } catch (error) {
    const details = (error as { details?: { issues?: Array<{ message: string }> }; issues?: string[] }).details;
    return { ok: false as const, issues: details?.issues?.map((i) => i.message) ?? (error as { issues?: string[] }).issues };
  }
}

describe('decodeEvent with the compiled parsers equals decodeEvent through zod', () => {
  const cases: Array<[EventType, number, z.ZodType]> = [
    ...compiled.map(([type, schema]): [EventType, number, z.ZodType] => [type as EventType, 1, schema]),
    ['ProblemFound', 2, problemFoundSchema],
    ['ProblemFound', 1, problemFoundV1Schema],
  ];
  it.each(cases)('%s v%i', (type, version, schema) => {
    fc.assert(
      fc.property(valuesOf(schema), (data) => {
        const fast = outcome(() => decodeEvent(type, version, data));
        const reference = outcome(() => decodeByZod(type, version, data));
        expect(fast.ok).toBe(reference.ok);
        if (fast.ok && reference.ok) expect(same(JSON.parse(JSON.stringify(fast.value)), JSON.parse(JSON.stringify(reference.value)))).toBe(true);
        if (fast.ok && reference.ok) expect(fast.value).toEqual(reference.value);
        if (!fast.ok && !reference.ok) expect(fast.issues).toEqual(reference.issues);
      }),
      { numRuns: 300 },
    );
  });
});
