import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DEFAULT_POLICY, escalationPolicySchema, type EscalationPolicy } from '../events/problem/index.js';

/**
 * The deployment's escalation policy: the JSON file named by ESCALATION_POLICY (ISO 8601 durations,
 * per-severity overrides, time zone), or the built-in default in the zone of TZ_DEFAULT. It is frozen
 * into each problem when found, so changing it later never rewrites an old item's clock.
 */
export async function loadEscalationPolicy(file: string | undefined, defaultTimeZone: string): Promise<EscalationPolicy> {
  if (!file) return { ...DEFAULT_POLICY, timeZone: defaultTimeZone };
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`ESCALATION_POLICY: cannot read ${file} as JSON (${(err as Error).message})`);
  }
  const parsed = escalationPolicySchema.safeParse(json);
  if (!parsed.success) throw new Error(`ESCALATION_POLICY: ${file} is not a valid policy:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
