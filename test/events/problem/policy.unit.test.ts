import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLICY,
  escalationPolicySchema,
  DEFAULT_VERIFY_WITHIN,
  POLICY_V1,
  POLICY_V2,
  timingsFor,
  verifyWithinOf,
} from '../../../events/problem/policy.js';

describe('escalation policy', () => {
  it('is versioned data with defaults for time zone, top level and overrides', () => {
    const parsed = escalationPolicySchema.parse({
      version: 2,
      acknowledgeWithin: 'PT12H',
      reminderOffsets: ['P3D', 'P1D'],
      escalationInterval: 'P2D',
      repeatReminderEvery: 'P1D',
    });
    expect(parsed).toEqual({
      version: 2,
      timeZone: 'Asia/Shanghai',
      acknowledgeWithin: 'PT12H',
      reminderOffsets: ['P3D', 'P1D'],
      escalationInterval: 'P2D',
      repeatReminderEvery: 'P1D',
      topLevel: 'prefecture',
      severityOverrides: {},
    });
  });

  it.each([
    ['a malformed duration', { acknowledgeWithin: '2 days' }],
    ['a zero duration', { escalationInterval: 'PT0S' }],
    ['no reminder offsets', { reminderOffsets: [] }],
    ['an unknown time zone', { timeZone: 'Mars/Olympus' }],
    ['an unknown field', { retries: 3 }],
    ['an unknown severity override', { severityOverrides: { urgent: {} } }],
    ['version 0', { version: 0 }],
  ])('refuses %s', (_name, change) => {
    expect(escalationPolicySchema.safeParse({ ...POLICY_V1, ...change }).success).toBe(false);
  });

  it('version 2 (a verification window of its own) is the default; versions 1 and 2 are valid and frozen so nobody can rewrite them in place', () => {
    expect(DEFAULT_POLICY).toBe(POLICY_V2);
    expect(POLICY_V2).toEqual({ ...POLICY_V1, version: 2, verifyWithin: 'P5D' });
    expect(Object.isFrozen(POLICY_V2)).toBe(true);
    expect(escalationPolicySchema.parse(POLICY_V2)).toEqual(POLICY_V2);
    expect(escalationPolicySchema.parse(POLICY_V1)).toEqual(POLICY_V1);
    // Items found under version 1 verify within the default window.
    expect(verifyWithinOf(POLICY_V1)).toBe(DEFAULT_VERIFY_WITHIN);
    expect(Object.isFrozen(POLICY_V1)).toBe(true);
    expect(Object.isFrozen(POLICY_V1.reminderOffsets)).toBe(true);
    expect(() => (POLICY_V1.reminderOffsets as string[]).push('P7D')).toThrow(TypeError);
  });

  it('applies per-severity overrides over the base timings', () => {
    expect(timingsFor(POLICY_V1, 'medium')).toEqual({
      acknowledgeWithin: 'P2D',
      reminderOffsets: ['P3D', 'P1D'],
      escalationInterval: 'P3D',
      repeatReminderEvery: 'P1D',
    });
    expect(timingsFor(POLICY_V1, 'high')).toEqual({
      acknowledgeWithin: 'P1D',
      reminderOffsets: ['P3D', 'P1D'],
      escalationInterval: 'P1D',
      repeatReminderEvery: 'P1D',
    });
  });
});
