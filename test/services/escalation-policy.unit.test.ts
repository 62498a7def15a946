import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, timingsFor } from '../../events/problem/policy.js';
import { loadEscalationPolicy } from '../../services/policy.js';

const write = async (content: string) => {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'duban-policy-')), 'policy.json');
  await writeFile(file, content);
  return file;
};

describe('the ESCALATION_POLICY file (docs/escalation-policy.example.json)', () => {
  it('given no file: the built-in default in the deployment zone', async () => {
    expect(await loadEscalationPolicy(undefined, 'Asia/Shanghai')).toEqual(DEFAULT_POLICY);
  });

  it('given the documented example: every field as written, with per-severity overrides', async () => {
    const policy = await loadEscalationPolicy('docs/escalation-policy.example.json', 'Asia/Shanghai');
    expect(policy).toMatchObject({ version: 2, timeZone: 'Asia/Shanghai', topLevel: 'prefecture', escalationInterval: 'P3D' });
    expect(timingsFor(policy, 'high')).toEqual({
      acknowledgeWithin: 'P1D',
      reminderOffsets: ['P5D', 'P2D', 'PT12H'],
      escalationInterval: 'P1D',
      repeatReminderEvery: 'P1D',
    });
    expect(timingsFor(policy, 'low')).toMatchObject({ escalationInterval: 'P7D', repeatReminderEvery: 'P3D' });
    expect(timingsFor(policy, 'medium').escalationInterval).toBe('P3D');
  });

  it('given a malformed duration or an unknown field: refused, naming it', async () => {
    const file = await write(JSON.stringify({ ...DEFAULT_POLICY, escalationInterval: '3 days' }));
    await expect(loadEscalationPolicy(file, 'Asia/Shanghai')).rejects.toThrow(/escalationInterval/);
    const extra = await write(JSON.stringify({ ...DEFAULT_POLICY, escalateEvery: 'P1D' }));
    await expect(loadEscalationPolicy(extra, 'Asia/Shanghai')).rejects.toThrow(/escalateEvery/);
  });
});
