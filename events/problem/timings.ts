import type { EscalationPolicy, PolicyTimings, Severity } from './policy.js';

/**
 * Which timings of a frozen policy apply: plain functions apart from the policy's schema, so the
 * workflow bundle (which evaluates every module again for each workflow it starts) carries no zod.
 */

/** The verification window of policies that do not name one (every version 1 policy). */
export const DEFAULT_VERIFY_WITHIN = 'P5D';

/** The verification window that applies under a policy. */
export const verifyWithinOf = (policy: EscalationPolicy): string => policy.verifyWithin ?? DEFAULT_VERIFY_WITHIN;

/** The timings that apply to a problem of the given severity. */
export function timingsFor(policy: EscalationPolicy, severity: Severity): PolicyTimings {
  const override = policy.severityOverrides[severity] ?? {};
  return {
    acknowledgeWithin: override.acknowledgeWithin ?? policy.acknowledgeWithin,
    reminderOffsets: override.reminderOffsets ?? policy.reminderOffsets,
    escalationInterval: override.escalationInterval ?? policy.escalationInterval,
    repeatReminderEvery: override.repeatReminderEvery ?? policy.repeatReminderEvery,
  };
}
