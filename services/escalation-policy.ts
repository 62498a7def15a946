import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { invalid } from '../events/errors.js';
import { DEFAULT_POLICY, escalationPolicySchema, type EscalationPolicy } from '../events/problem/policy.js';

/**
 * The deployment's default escalation policy: the JSON file named by ESCALATION_POLICY (see
 * docs/escalation-policy.example.json), else the built-in DEFAULT_POLICY. Whatever it is at the moment
 * a problem is found gets frozen into that ProblemFound; changing the file never touches older items.
 *
 * A file without `timeZone` takes the deployment's zone (TZ_DEFAULT, Asia/Shanghai by default).
 */
export async function loadEscalationPolicy(options: { file?: string; defaultTimeZone?: string } = {}): Promise<EscalationPolicy> {
  if (!options.file) return DEFAULT_POLICY;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(options.file, 'utf8'));
  } catch (err) {
    throw invalid('policy.file', `ESCALATION_POLICY ${options.file} is not readable JSON: ${(err as Error).message}`);
  }
  if (raw && typeof raw === 'object' && !('timeZone' in raw) && options.defaultTimeZone) {
    raw = { ...raw, timeZone: options.defaultTimeZone };
  }
  const parsed = escalationPolicySchema.safeParse(raw);
  if (!parsed.success) {
    throw invalid('policy.file', `ESCALATION_POLICY ${options.file} is not a valid policy:\n${z.prettifyError(parsed.error)}`, {
      issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
    });
  }
  return parsed.data;
}
