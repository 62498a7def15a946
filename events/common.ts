import { z } from 'zod';
import { isoTime } from './envelope.js';
import { invalid } from './errors.js';
import { compileParser, type FastParser, safeParseWith } from './fast-parse.js';

/** Shared value schemas for event data. Every object is strict: unknown fields are rejected. */

export { isoTime };

// The id and text patterns spelt out as code point ranges instead of `\s` and `\p{Cc}`, so that JSON Schema
// tools and request generators (schemathesis) read them from the OpenAPI document too; each equals the
// regex in its comment on every code point (test/events/common.unit.test.ts).

/** `^[^\s\p{Cc}]+$`: no whitespace (JavaScript's \s), no C0 or C1 control character. */
export const ID_PATTERN = /^[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+$/u;
/** `^(?:[^\p{Cc}]|[\t\n\r])*$`: no control character but tab, line feed and carriage return. */
export const WRITTEN_TEXT_PATTERN = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$/u;

/** Client-supplied ids (administrative division codes fit): no whitespace, no control characters. */
export const idSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(ID_PATTERN, 'ids carry no whitespace or control characters');

/** Names of units, leaders: Chinese text round-trips unchanged (no normalisation, no trimming). */
export const nameSchema = z.string().min(1).max(200);
/**
 * Text written by people (descriptions, summaries, reasons): it must say something, not only blanks, and
 * carries no control characters but tabs and line breaks (a NUL byte is never part of what someone wrote).
 */
const writtenText = (max: number, blankMessage: string) =>
  z
    .string()
    .max(max)
    .regex(WRITTEN_TEXT_PATTERN, 'text carries no control characters but tabs and line breaks')
    .refine((s) => s.trim().length > 0, blankMessage);

/** A description or summary. */
export const textSchema = writtenText(4000, 'the text must say something, not only blanks');
/** A short reason (rejection, extension, flag). */
export const reasonSchema = writtenText(2000, 'a reason is required');

/** A reference to a stored file, never the file itself. */
export const evidenceSchema = z.strictObject({
  kind: z.enum(['photo', 'document', 'video', 'audio', 'record', 'other']),
  uri: z.string().min(1).max(2000),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 as 64 lowercase hex digits'),
});
export type Evidence = z.infer<typeof evidenceSchema>;
export const evidenceListSchema = z.array(evidenceSchema).max(50);

/** Who did something, copied into event data where evolve needs it (the actor also sits in metadata). */
export const actorRefSchema = z.strictObject({ userId: z.string().min(1).max(200), unitId: idSchema });
export type ActorRef = z.infer<typeof actorRefSchema>;

export const dateSchema = z.iso.date();
export const monthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month as YYYY-MM');

/** Numeric figures of a listing, review or report: named counts and rates. */
export const figuresSchema = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/), z.number().finite())
  .refine((r) => Object.keys(r).length <= 100, 'at most 100 figures');
export type Figures = z.infer<typeof figuresSchema>;

/**
 * Builds one event and validates its data against the schema, so a decider can never emit data that
 * would be refused on the way into the store. Bad command input surfaces here as a 400.
 */
export function makeEvent<T extends string, S extends z.ZodType>(
  type: T,
  schema: S,
  data: z.input<S>,
): { type: T; data: z.output<S> } {
  const parsed = safeParseWith(schema, parserOf(schema), data) as z.ZodSafeParseResult<z.output<S>>;
  if (!parsed.success) {
    throw invalid('event.encode', `invalid ${type}: ${z.prettifyError(parsed.error)}`, {
      type,
      issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
    });
  }
  if (typeof parsed.data === 'object' && parsed.data !== null) validated.set(parsed.data, schema);
  return { type, data: parsed.data };
}

// Each schema's compiled parser (events/fast-parse.ts), made on first use: an import makes hundreds of
// thousands of events of a few types, and zod's general machinery cost more than the rules. It accepts
// what zod accepts and returns what zod returns; anything else, and every refusal's wording, is zod's.
const parsers = new WeakMap<z.ZodType, FastParser | undefined>();
function parserOf(schema: z.ZodType): FastParser | undefined {
  if (!parsers.has(schema)) parsers.set(schema, compileParser(schema));
  return parsers.get(schema);
}

// Data makeEvent built, with the schema it passed: the registry takes it on the way into the store without
// a second zod pass (deciders are pure and never change an event once made).
const validated = new WeakMap<object, z.ZodType>();

/** The schema `data` was built and validated with by makeEvent, if it was. */
export const validatedWith = (data: unknown): z.ZodType | undefined =>
  typeof data === 'object' && data !== null ? validated.get(data) : undefined;
