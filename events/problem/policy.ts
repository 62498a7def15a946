import { z } from 'zod';
import { unitLevelSchema } from '../unit/hierarchy.js';
import { DEFAULT_TIME_ZONE, isValidTimeZone, isZeroDuration, tryParseDuration } from '../time.js';
import { deepFreeze } from './policy-intern.js';
import { DEFAULT_VERIFY_WITHIN } from './timings.js';

export { DEFAULT_VERIFY_WITHIN, timingsFor, verifyWithinOf } from './timings.js';

/**
 * The escalation policy is data: versioned, and frozen into each ProblemFound so a later change of the
 * default never rewrites what applied to an old item.
 */

export const severitySchema = z.enum(['low', 'medium', 'high']);
export type Severity = z.infer<typeof severitySchema>;

// Every decoded ProblemFound re-checks the same few durations of its frozen policy.
const positiveDurations = new Map<string, boolean>();
function isPositiveDuration(text: string): boolean {
  let known = positiveDurations.get(text);
  if (known === undefined) {
    const d = tryParseDuration(text);
    known = d !== undefined && !isZeroDuration(d);
    if (positiveDurations.size < 1000) positiveDurations.set(text, known);
  }
  return known;
}

/** A positive ISO 8601 duration such as `P3D` or `PT12H`. */
export const isoDurationSchema = z
  .string()
  .max(40)
  .refine(isPositiveDuration, 'a positive ISO 8601 duration such as P3D or PT12H');

const timingsShape = {
  /** How long the responsible unit has to acknowledge (签收) before a reminder and yellow. */
  acknowledgeWithin: isoDurationSchema,
  /** Blue reminders this long before the deadline, e.g. P3D and P1D. */
  reminderOffsets: z.array(isoDurationSchema).min(1).max(10),
  /** After the deadline: escalate one level up every interval until the top level. */
  escalationInterval: isoDurationSchema,
  /** Repeat an unanswered reminder this often. */
  repeatReminderEvery: isoDurationSchema,
};

export const policyTimingsSchema = z.strictObject(timingsShape);
export type PolicyTimings = z.infer<typeof policyTimingsSchema>;

export const escalationPolicySchema = z.strictObject({
  version: z.number().int().positive(),
  timeZone: z.string().max(64).refine(isValidTimeZone, 'an IANA time zone').default(DEFAULT_TIME_ZONE),
  ...timingsShape,
  /** The level escalation stops at (the prefecture: 州级督战). */
  topLevel: unitLevelSchema.default('prefecture'),
  /**
   * How long the verifier (the responsible unit's parent) has to verify a submitted rectification before
   * a reminder and an escalation to its own parent. Absent in policies before version 2: DEFAULT_VERIFY_WITHIN.
   */
  verifyWithin: isoDurationSchema.optional(),
  severityOverrides: z
    .strictObject({
      low: policyTimingsSchema.partial().optional(),
      medium: policyTimingsSchema.partial().optional(),
      high: policyTimingsSchema.partial().optional(),
    })
    .default({}),
});
export type EscalationPolicy = z.infer<typeof escalationPolicySchema>;
export type EscalationPolicyInput = z.input<typeof escalationPolicySchema>;

/**
 * Version 1 of the policy. Kept verbatim for ever: upcasters of old events refer to it, so it must not
 * change even when the default moves on. Write a POLICY_V2 instead.
 */
export const POLICY_V1: EscalationPolicy = deepFreeze({
  version: 1,
  timeZone: DEFAULT_TIME_ZONE,
  acknowledgeWithin: 'P2D',
  reminderOffsets: ['P3D', 'P1D'],
  escalationInterval: 'P3D',
  repeatReminderEvery: 'P1D',
  topLevel: 'prefecture',
  severityOverrides: {
    high: { acknowledgeWithin: 'P1D', escalationInterval: 'P1D' },
  },
});

/** Version 2: version 1 with a verification window of its own. Kept as it is for ever, like POLICY_V1. */
export const POLICY_V2: EscalationPolicy = deepFreeze({ ...POLICY_V1, version: 2, verifyWithin: DEFAULT_VERIFY_WITHIN });

/** The policy frozen into new problems unless the command names another. */
export const DEFAULT_POLICY: EscalationPolicy = POLICY_V2;
