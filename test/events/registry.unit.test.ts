import { describe, expect, it, vi } from 'vitest';
import { makeEvent } from '../../events/common.js';
import { unitRegisteredSchema } from '../../events/unit/events.js';
import { POLICY_V1 } from '../../events/problem/policy.js';
import { currentVersion, decodeEvent, encodeEvent, eventTypes } from '../../events/registry.js';

const problemV1 = {
  problemId: 'p-1',
  targetUnitId: '533423',
  responsibleUnitId: '533423',
  category: 'housing',
  description: '塔城镇部分农户住房安全未达标',
  severity: 'high',
  deadline: '2020-06-30T23:59:59.999+08:00',
};

describe('event registry', () => {
  it('knows every event of DOMAIN.md', () => {
    expect(new Set(eventTypes)).toEqual(
      new Set([
        'UnitRegistered',
        'UnitPopulationUpdated',
        'HouseholdRegistered',
        'HouseholdCategoryChanged',
        'PlanMeasureAdded',
        'PlanMeasureCompleted',
        'HouseholdAssessed',
        'MonitoringFlagRaised',
        'MonitoringFlagCleared',
        'TargetListed',
        'TargetDelisted',
        'ProblemFound',
        'ProblemAcknowledged',
        'MeasureAssigned',
        'MeasureCompleted',
        'RectificationSubmitted',
        'RectificationRejected',
        'ProblemCleared',
        'ProblemReopened',
        'DeadlineExtended',
        'ReminderIssued',
        'ProblemEscalated',
        'WarningColourChanged',
        'MonthlyReviewCompiled',
        'DailyReportCompiled',
      ]),
    );
  });

  it('validates on the way in and stamps the current version; Chinese text round-trips', () => {
    const encoded = encodeEvent('UnitRegistered', {
      unitId: '533423',
      name: '维西傈僳族自治县',
      level: 'county',
      parentId: '533400',
    });
    expect(encoded.schemaVersion).toBe(1);
    const stored = JSON.parse(JSON.stringify(encoded.data)) as unknown;
    expect(decodeEvent('UnitRegistered', 1, stored)).toEqual({ type: 'UnitRegistered', data: encoded.data });
    expect(encoded.data.name).toBe('维西傈僳族自治县');
  });

  it("takes a decider's event (made by makeEvent with the type's schema) without a second zod pass; other data is parsed", () => {
    const data = { unitId: '533423', name: '维西傈僳族自治县', level: 'county' as const, parentId: '533400' };
    const parse = vi.spyOn(unitRegisteredSchema, 'safeParse');
    try {
      // makeEvent validates through the schema's compiled parser (events/fast-parse.ts), not zod's safeParse.
      const made = makeEvent('UnitRegistered', unitRegisteredSchema, data);
      expect(parse).toHaveBeenCalledTimes(0);
      expect(encodeEvent('UnitRegistered', made.data)).toEqual({ type: 'UnitRegistered', data: made.data, schemaVersion: 1 });
      expect(parse).toHaveBeenCalledTimes(0);
      // The same fields in a fresh object (not made by makeEvent) are validated as always.
      encodeEvent('UnitRegistered', { ...made.data });
      expect(parse).toHaveBeenCalledTimes(1);
      // Data made with another schema is not taken for this type's.
      const other = makeEvent('UnitRegistered', unitRegisteredSchema.extend({}), data);
      expect(() => encodeEvent('HouseholdRegistered', other.data)).toThrow(/invalid HouseholdRegistered/);
    } finally {
      parse.mockRestore();
    }
  });

  it('rejects unknown fields, unknown types and bad values with a rule', () => {
    const unit = { unitId: '533400', name: '迪庆藏族自治州', level: 'prefecture', parentId: null };
    expect(() => encodeEvent('UnitRegistered', { ...unit, extra: 1 })).toThrow(
      expect.objectContaining({ code: 'validation', rule: 'event.encode' }),
    );
    expect(() => encodeEvent('UnitRegistered', { ...unit, level: 'province' })).toThrow(
      expect.objectContaining({ rule: 'event.encode' }),
    );
    expect(() => encodeEvent('Nonsense' as 'UnitRegistered', unit)).toThrow(
      expect.objectContaining({ rule: 'event.encode' }),
    );
    expect(() => decodeEvent('UnitRegistered', 1, { ...unit, name: '' })).toThrow(
      expect.objectContaining({ code: 'validation', rule: 'event.decode' }),
    );
    expect(() => decodeEvent('UnitRegistered', 2, unit)).toThrow(expect.objectContaining({ rule: 'event.decode' }));
    expect(() => decodeEvent('Nonsense', 1, unit)).toThrow(expect.objectContaining({ rule: 'event.decode' }));
  });

  it('upcasts ProblemFound v1 (no source, no policy) to the current version', () => {
    expect(currentVersion('ProblemFound')).toBe(2);
    const decoded = decodeEvent('ProblemFound', 1, problemV1);
    expect(decoded).toEqual({
      type: 'ProblemFound',
      data: { ...problemV1, source: 'inspection', policy: POLICY_V1 },
    });
    // A v1 record must be valid as v1: a v2 field in a v1 record is refused, not silently kept.
    expect(() => decodeEvent('ProblemFound', 1, { ...problemV1, source: 'audit' })).toThrow(
      expect.objectContaining({ rule: 'event.decode' }),
    );
    // v2 data read as v2 is taken as is.
    const v2 = encodeEvent('ProblemFound', { ...problemV1, source: 'audit', policy: POLICY_V1 });
    expect(v2.schemaVersion).toBe(2);
    expect(decodeEvent('ProblemFound', 2, v2.data)).toEqual({ type: 'ProblemFound', data: v2.data });
    expect(() => decodeEvent('ProblemFound', 2, problemV1)).toThrow(expect.objectContaining({ rule: 'event.decode' }));
  });
});
