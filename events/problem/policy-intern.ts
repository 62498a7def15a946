import type { z } from 'zod';
import { type FastParser, NOT_SURE } from '../fast-parse.js';
import type { EscalationPolicy } from './policy.js';

/**
 * Decoding a ProblemFound validates its frozen escalation policy, and every problem of a deployment
 * carries one of very few policies. Validating the same policy again and again was most of the cost of
 * a replay, and each folded problem state kept its own copy. So a policy is validated once per distinct
 * content and every later ProblemFound with the same content shares that one deep-frozen object.
 *
 * Why this is the same as validating every time: the object schema checks each key on its own, and the
 * policy schema is deterministic (its refinements are pure), so for two policies that are the same JSON
 * value it gives the same verdict and equal output. `jsonKey` returns a string only for plain JSON values
 * (what the stores' JSON.parse produces) and is injective on them; anything else (undefined, NaN, -0,
 * Dates, class instances, holes, functions) takes the ordinary path with no cache. (A getter is read like
 * a data property; one that answered differently to each reader would not be data at all.)
 */

const MAX_POLICIES = 256;

/** A string that identifies a plain JSON value, or undefined when the value is not one. */
export function jsonKey(value: unknown): string | undefined {
  return isPlainJson(value, 0) ? JSON.stringify(value) : undefined;
}

function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      // JSON.stringify writes NaN and ±Infinity as null and -0 as 0: not injective there.
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object':
      break;
    default:
      return false;
  }
  if (depth > 8) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      if (!Object.hasOwn(value, i) || !isPlainJson(value[i], depth + 1)) return false;
    }
    return Object.keys(value).length === value.length;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  // Own enumerable string keys: what JSON.stringify writes and the object schemas read. Symbol keys and
  // non-enumerable properties are ignored by both.
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!isPlainJson(record[key], depth + 1)) return false;
  }
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Freezes a plain value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** A validated policy, with a private copy of the JSON value it was validated for. */
interface Decided {
  source: unknown;
  policy: EscalationPolicy;
}
const interned = new Map<string, Decided>();
/** The policy decided last. */
let last: Decided | undefined;

/** Number of distinct policies held (for tests). */
export const internedPolicyCount = () => interned.size;

/**
 * Whether `value` is the plain JSON value `source` (itself parsed from a `jsonKey`), with the keys in the
 * same order: then `jsonKey(value)` is that key, found without writing it. Anything else answers false
 * and takes the keyed path.
 */
function sameJson(value: unknown, source: unknown, depth: number): boolean {
  if (source === null || typeof source !== 'object') return Object.is(value, source);
  if (depth > 8 || typeof value !== 'object' || value === null) return false;
  if (Array.isArray(source)) {
    if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype || value.length !== source.length) return false;
    for (let i = 0; i < source.length; i++) {
      if (!Object.hasOwn(value, i) || !sameJson(value[i], source[i], depth + 1)) return false;
    }
    return Object.keys(value).length === source.length;
  }
  if (Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(value);
  const sourceKeys = Object.keys(source);
  if (keys.length !== sourceKeys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key !== sourceKeys[i] || !sameJson((value as Record<string, unknown>)[key], (source as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/**
 * Parses `data` with `schema` (an object schema whose `policy` key is the escalation policy), validating
 * the policy only the first time its content is seen; `withoutPolicy` is the same schema minus `policy`.
 * Returns exactly what `schema.safeParse(data)` returns, except that the policy is the shared frozen one.
 * `policyDecided` (events/fast-parse.ts) parses the whole event, the policy taken as given, when it is
 * sure of zod's answer. The policy decided last is recognised by comparing values, not writing its key.
 */
export function parseWithInternedPolicy<Out extends { policy: EscalationPolicy }>(
  schema: z.ZodObject & z.ZodType<Out>,
  withoutPolicy: z.ZodType<Omit<Out, 'policy'>>,
  data: unknown,
  policyDecided?: FastParser,
): z.ZodSafeParseResult<Out> {
  if (!isPlainObject(data) || !Object.hasOwn(data, 'policy')) return schema.safeParse(data);
  let known: EscalationPolicy;
  if (last !== undefined && sameJson(data.policy, last.source, 0)) {
    known = last.policy;
  } else {
    const key = jsonKey(data.policy);
    if (key === undefined) return schema.safeParse(data);
    const cached = interned.get(key);
    if (!cached) {
      const parsed = schema.safeParse(data);
      if (parsed.success) {
        last = { source: JSON.parse(key), policy: deepFreeze(parsed.data.policy) };
        if (interned.size < MAX_POLICIES) interned.set(key, last);
      }
      return parsed;
    }
    last = cached;
    known = cached.policy;
  }
  if (policyDecided) {
    const out = policyDecided(data);
    if (out !== NOT_SURE) {
      // The policy keeps its place in the schema's key order.
      (out as { policy: EscalationPolicy }).policy = known;
      return { success: true, data: out as Out };
    }
  }
  const { policy: _validatedBefore, ...rest } = data as { policy: unknown };
  const parsed = withoutPolicy.safeParse(rest);
  if (!parsed.success) return parsed as z.ZodSafeParseResult<Out>;
  // The schema's own key order, as its parse gives it: `policy` need not be the last key.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    if (key === 'policy') out[key] = known;
    else if (Object.hasOwn(parsed.data, key)) out[key] = (parsed.data as Record<string, unknown>)[key];
  }
  return { success: true, data: out as Out };
}
