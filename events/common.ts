import { z } from 'zod';
import { isoTime } from './envelope.js';
import { invalid } from './errors.js';

/** Shared value schemas for event data. Every object is strict: unknown fields are rejected. */

export { isoTime };

/** Client-supplied ids (administrative division codes fit): no whitespace, no control characters. */
export const idSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^\s\p{Cc}]+$/u, 'ids carry no whitespace or control characters');

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
    .regex(/^(?:[^\p{Cc}]|[\t\n\r])*$/u, 'text carries no control characters but tabs and line breaks')
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
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw invalid('event.encode', `invalid ${type}: ${z.prettifyError(parsed.error)}`, {
      type,
      issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
    });
  }
  return { type, data: parsed.data };
}
