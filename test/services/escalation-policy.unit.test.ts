import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, timingsFor } from '../../events/problem/policy.js';
import { loadEscalationPolicy } from '../../services/escalation-policy.js';

const write = async (content: string) => {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'duban-policy-')), 'policy.json');
  await writeFile(file, content);
  return file;
};

describe('loadEscalationPolicy', () => {
  it('given no file: the built-in default', async () => {
    expect(await loadEscalationPolicy()).toBe(DEFAULT_POLICY);
  });

  it('given the example file: every field as written, with per-severity overrides', async () => {
    const policy = await loadEscalationPolicy({ file: 'docs/escalation-policy.example.json' });
    expect(policy).toMatchObject({ version: 2, timeZone: 'Asia/Shanghai', topLevel: 'prefecture', escalationInterval: 'P3D' });
    expect(timingsFor(policy, 'high')).toEqual({
      acknowledgeWithin: 'P1D',
      reminderOffsets: ['P5D', 'P2D', 'PT12H'],
      escalationInterval: 'P1D',
      repeatReminderEvery: 'P1D',
    });
    expect(timingsFor(policy, 'medium').escalationInterval).toBe('P3D');
  });

  it('given a file without a time zone: the deployment zone', async () => {
    const { timeZone: _tz, ...rest } = DEFAULT_POLICY;
    const file = await write(JSON.stringify({ ...rest, version: 3 }));
    expect((await loadEscalationPolicy({ file, defaultTimeZone: 'Asia/Urumqi' })).timeZone).toBe('Asia/Urumqi');
  });

  it('given a malformed duration or unknown field: refused with the reason', async () => {
    const file = await write(JSON.stringify({ ...DEFAULT_POLICY, escalationInterval: '3 days' }));
    await expect(loadEscalationPolicy({ file })).rejects.toThrow(/escalationInterval/);
    const extra = await write(JSON.stringify({ ...DEFAULT_POLICY, escalateEvery: 'P1D' }));
    await expect(loadEscalationPolicy({ file: extra })).rejects.toThrow(/escalateEvery/);
    const broken = await write('{ not json');
    await expect(loadEscalationPolicy({ file: broken })).rejects.toThrow(/not readable JSON/);
  });
});
