import type { z } from 'zod';

/**
 * A schema's accepting path written out once per schema, for the replay: every stored event is checked
 * again on the way out, and zod's general machinery (payload objects, issue lists, ctx) cost more than
 * the rule itself.
 *
 * A compiled parser answers in one of two ways: the value zod's `safeParse` would return as `data`
 * (same members, same key order, same values), or NOT_SURE, which means "ask zod". It never refuses on
 * its own, so every refusal, and its wording, still comes from zod; and what it accepts is what zod
 * accepts, because each leaf (string, number, boolean, enum with their checks and refinements) is zod's
 * own `run`, and only the containers (strict or stripping objects, arrays, optional and nullable values) are walked
 * here, by the same rules as zod's object and array parsers (presence by `in`, absent optional members
 * left out, present-but-undefined ones kept, unknown keys refused by a strict object). Anything else
 * (defaults, pipes, transforms, records, unions, a memoizer) is not compiled: `compileParser` returns
 * undefined and the schema is parsed by zod as before. test/events/fast-parse.property.unit.test.ts
 * checks the two agree on generated valid, mutated and foreign values.
 */
export const NOT_SURE: unique symbol = Symbol('not sure: ask zod');
export type FastParser = (value: unknown) => unknown;

interface Internals {
  def: {
    type: string;
    checks?: unknown[];
    shape?: Record<string, z.ZodType>;
    catchall?: z.ZodType;
    element?: z.ZodType;
    innerType?: z.ZodType;
  };
  optin?: string;
  optout?: string;
}
interface Payload {
  value: unknown;
  issues: unknown[];
}
interface CheckInternals {
  check(payload: Payload): unknown;
}

const internals = (schema: unknown) => (schema as { _zod: Internals })._zod;

/**
 * A parser for `schema`, or undefined when the schema uses something not compiled here. `members`, for an
 * object schema, replaces the parsers of those top-level members (a caller that has already decided them).
 */
export function compileParser(schema: z.ZodType, members?: Record<string, FastParser>): FastParser | undefined {
  if (members) return internals(schema).def.type === 'object' ? object(internals(schema), members) : undefined;
  return compile(schema);
}

function compile(schema: unknown): FastParser | undefined {
  const zod = internals(schema);
  switch (zod.def.type) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'enum':
      return leaf(zod);
    case 'optional':
      return optional(zod);
    case 'nullable':
      return nullable(zod);
    case 'array':
      return array(zod);
    case 'object':
      return object(zod);
    default:
      return undefined;
  }
}

type Predicate = (value: never) => boolean;

interface CheckDef {
  check?: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  maximum?: number;
  value?: unknown;
  inclusive?: boolean;
  coerce?: boolean;
  fn?: (value: unknown) => unknown;
}

const checkDef = (check: unknown) => (check as { _zod: { def: CheckDef } })._zod.def;

/** Code points, as zod counts string lengths. */
function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

// Formats whose whole check is their pattern (zod's $ZodCheckStringFormat); others (url, email...) add code.
const PATTERN_FORMATS = new Set(['regex', 'uuid', 'guid', 'datetime', 'date']);

/** One of zod's checks as a predicate with zod's verdict, or undefined for a kind not written out here. */
function predicate(def: CheckDef): Predicate | undefined {
  switch (def.check) {
    case 'min_length': {
      const min = def.minimum!;
      // Same counting as zod: UTF-16 units decide unless the code point count could differ.
      return (value: string) => value.length >= min * 2 || (value.length >= min && codePoints(value) >= min);
    }
    case 'max_length': {
      const max = def.maximum!;
      return (value: string) => value.length <= max || codePoints(value) <= max;
    }
    case 'string_format': {
      const pattern = def.pattern;
      if (!pattern || !PATTERN_FORMATS.has(def.format ?? '')) return undefined;
      return (value: string) => {
        pattern.lastIndex = 0;
        return pattern.test(value);
      };
    }
    case 'number_format':
      return def.format === 'safeint' ? (value: number) => Number.isSafeInteger(value) : undefined;
    case 'greater_than': {
      const bound = def.value;
      if (typeof bound !== 'number') return undefined;
      return def.inclusive ? (value: number) => value >= bound : (value: number) => value > bound;
    }
    case 'less_than': {
      const bound = def.value;
      if (typeof bound !== 'number') return undefined;
      return def.inclusive ? (value: number) => value <= bound : (value: number) => value < bound;
    }
    case 'custom': {
      const fn = def.fn;
      if (!fn) return undefined;
      return (value: unknown) => {
        const verdict = fn(value);
        if (verdict instanceof Promise) {
          // An async refinement: zod's safeParse throws for it, so let zod do so.
          verdict.catch(() => {});
          return false;
        }
        return Boolean(verdict);
      };
    }
    default:
      return undefined;
  }
}

/** The checks of a schema (a string format is its own first check), each as a predicate; undefined if any is not written out. */
function predicates(zod: Internals): Predicate[] | undefined {
  const own = checkDef({ _zod: zod });
  const all = [...(own.check !== undefined ? [own] : []), ...(zod.def.checks ?? []).map(checkDef)];
  const out: Predicate[] = [];
  for (const def of all) {
    const p = predicate(def);
    if (!p) return undefined;
    out.push(p);
  }
  return out;
}

/** A scalar: zod's type test and then its checks, each with zod's verdict. */
function leaf(zod: Internals): FastParser | undefined {
  if (checkDef({ _zod: zod }).coerce) return undefined;
  const checks = predicates(zod);
  if (!checks) return undefined;
  let isType: (value: unknown) => boolean;
  switch (zod.def.type) {
    case 'string':
      isType = (value) => typeof value === 'string';
      break;
    case 'number':
      isType = (value) => typeof value === 'number' && Number.isFinite(value);
      break;
    case 'boolean':
      isType = (value) => typeof value === 'boolean';
      break;
    default: {
      const values = (zod as { values?: ReadonlySet<unknown> }).values;
      if (!values) return undefined;
      isType = (value) => values.has(value);
    }
  }
  if (zod.def.type === 'string') {
    // Accepted strings come back interned: the same unit ids, user ids and deadlines recur in every
    // stream, and a replay keeping one state per stream would otherwise hold a copy of each per event.
    const accept = leafOf(isType, checks as Array<(value: unknown) => boolean>);
    return (value) => {
      const out = accept(value);
      return out === NOT_SURE ? out : intern(out as string);
    };
  }
  return leafOf(isType, checks as Array<(value: unknown) => boolean>);
}

const MAX_INTERNED_LENGTH = 40;
const MAX_INTERNED = 100_000;
const interned = new Map<string, string>();
/** One string object for each short text seen (a string's identity is not observable: the value is the same). */
function intern(text: string): string {
  if (text.length > MAX_INTERNED_LENGTH) return text;
  const known = interned.get(text);
  if (known !== undefined) return known;
  if (interned.size >= MAX_INTERNED) interned.clear();
  interned.set(text, text);
  return text;
}

function leafOf(isType: (value: unknown) => boolean, checks: Array<(value: unknown) => boolean>): FastParser {
  const [first, second, third] = checks;
  switch (checks.length) {
    case 0:
      return (value) => (isType(value) ? value : NOT_SURE);
    case 1:
      return (value) => (isType(value) && first!(value) ? value : NOT_SURE);
    case 2:
      return (value) => (isType(value) && first!(value) && second!(value) ? value : NOT_SURE);
    case 3:
      return (value) => (isType(value) && first!(value) && second!(value) && third!(value) ? value : NOT_SURE);
    default:
      return (value) => (isType(value) && checks.every((check) => check(value)) ? value : NOT_SURE);
  }
}

function optional(zod: Internals): FastParser | undefined {
  const innerType = zod.def.innerType;
  if (!innerType || internals(innerType).optin === 'defaulted' || (zod.def.checks?.length ?? 0) > 0) return undefined;
  const inner = compile(innerType);
  if (!inner) return undefined;
  return (value) => (value === undefined ? undefined : inner(value));
}

function nullable(zod: Internals): FastParser | undefined {
  const innerType = zod.def.innerType;
  if (!innerType || (zod.def.checks?.length ?? 0) > 0) return undefined;
  const inner = compile(innerType);
  if (!inner) return undefined;
  return (value) => (value === null ? null : inner(value));
}

/** Checks set on a container (length bounds, refinements), run by zod's own check code on the output. */
function containerChecks(zod: Internals): ((value: unknown) => unknown) | undefined {
  const checks = (zod.def.checks ?? []).map((c) => internals(c) as unknown as CheckInternals);
  if (checks.length === 0) return undefined;
  return (value) => {
    const payload: Payload = { value, issues: [] };
    for (const check of checks) {
      const verdict = check.check(payload);
      if (verdict instanceof Promise) {
        verdict.catch(() => {});
        return NOT_SURE;
      }
      if (payload.issues.length > 0) return NOT_SURE;
    }
    return payload.value;
  };
}

function array(zod: Internals): FastParser | undefined {
  const element = zod.def.element && compile(zod.def.element);
  if (!element) return undefined;
  const checks = containerChecks(zod);
  return (input) => {
    if (!Array.isArray(input)) return NOT_SURE;
    const out = new Array<unknown>(input.length);
    for (let i = 0; i < input.length; i++) {
      const item = element(input[i]);
      if (item === NOT_SURE) return NOT_SURE;
      out[i] = item;
    }
    return checks ? checks(out) : out;
  };
}

interface Member {
  key: string;
  parse: FastParser;
  optional: boolean;
}

function object(zod: Internals, overrides?: Record<string, FastParser>): FastParser | undefined {
  const { shape, catchall } = zod.def;
  if (!shape || Object.getOwnPropertySymbols(shape).length > 0) return undefined;
  // No catchall strips unknown keys; a `never` catchall (strictObject) refuses them; others are not compiled.
  const strict = catchall !== undefined;
  if (strict && internals(catchall).def.type !== 'never') return undefined;
  const members: Member[] = [];
  for (const key of Object.keys(shape)) {
    if (key === '__proto__') return undefined;
    const member = internals(shape[key]);
    const parse = overrides?.[key] ?? compile(shape[key]);
    if (!parse) return undefined;
    // Required (both undefined) or plain optional; `defaulted` and other rungs are left to zod.
    const optional = member.optin === 'optional' && member.optout === 'optional';
    if (!optional && (member.optin !== undefined || member.optout !== undefined)) return undefined;
    members.push({ key, parse, optional });
  }
  const keys = new Set(members.map((m) => m.key));
  const checks = containerChecks(zod);
  return (input) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return NOT_SURE;
    const record = input as Record<string, unknown>;
    if (strict) {
      for (const key in record) if (!keys.has(key)) return NOT_SURE;
    }
    const out: Record<string, unknown> = {};
    for (const member of members) {
      if (!(member.key in record)) {
        if (member.optional) continue;
        return NOT_SURE;
      }
      const value = member.parse(record[member.key]);
      if (value === NOT_SURE) return NOT_SURE;
      out[member.key] = value;
    }
    return checks ? checks(out) : out;
  };
}

/** `schema.safeParse(value)` through the compiled parser when it is sure, through zod otherwise. */
export function safeParseWith<T>(schema: z.ZodType<T>, parser: FastParser | undefined, value: unknown): z.ZodSafeParseResult<T> {
  if (parser) {
    const out = parser(value);
    if (out !== NOT_SURE) return { success: true, data: out as T };
  }
  return schema.safeParse(value);
}
