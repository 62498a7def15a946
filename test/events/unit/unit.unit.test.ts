import { describe, expect, it } from 'vitest';
import { fold } from '../../../events/decider.js';
import {
  ancestorsOf,
  clearanceFlags,
  hierarchyFromUnits,
  isClear,
  isStrictlyAbove,
  isWithin,
  type UnitCommand,
  unitDecider,
  type UnitEvent,
  unitStreamId,
  type UnitLevel,
} from '../../../events/unit/index.js';
import { actors, ctx, DEQIN, given, hierarchy, PREFECTURE, QIBIE, TACHENG, WEIXI, WEIXI_SITE, YONGCHUN } from '../gwt.js';

const register = (unitId: string, name: string, level: UnitLevel, parentId: string | null): UnitCommand => ({
  type: 'registerUnit',
  unitId,
  name,
  level,
  parentId,
});
const registered = (command: UnitCommand): UnitEvent => {
  if (command.type !== 'registerUnit') throw new Error('a registration');
  const { type: _type, ...data } = command;
  return { type: 'UnitRegistered', data };
};

/** Only the prefecture is known: for registering its first children. */
const onlyPrefecture = hierarchyFromUnits([{ unitId: PREFECTURE, parentId: null, level: 'prefecture' }]);
const empty = hierarchyFromUnits([]);

describe('unit stream', () => {
  it('names its stream unit-<id>', () => {
    expect(unitStreamId('533400')).toBe('unit-533400');
  });

  it('registers the prefecture as a root, by an admin of that unit, keeping its Chinese name', () => {
    const command = register(PREFECTURE, '迪庆藏族自治州', 'prefecture', null);
    const { state } = given(unitDecider)
      .when(command, ctx(actors.admin, undefined, { hierarchy: empty }))
      .then([registered(command)]);
    expect(state).toEqual({ status: 'registered', unitId: PREFECTURE, name: '迪庆藏族自治州', level: 'prefecture', parentId: null });
  });

  it.each([
    ['a county under the prefecture', register('533423', '维西傈僳族自治县', 'county', PREFECTURE), actors.admin],
    ['a township under a county', register('533423103', '保和镇', 'township', WEIXI), actors.weixiAdmin],
    ['a village under a township', register('533423101202', '同乐村', 'village', TACHENG), actors.weixiAdmin],
    ['a relocation site under a county', register('site-2', '安置点', 'relocation_site', WEIXI), actors.admin],
    ['a relocation site under a township', register('site-3', '安置点', 'relocation_site', TACHENG), actors.admin],
  ])('registers %s', (_name, command, actor) => {
    const h = command.unitId === '533423' ? onlyPrefecture : hierarchy;
    given(unitDecider).when(command, ctx(actor, undefined, { hierarchy: h })).then([registered(command)]);
  });

  it.each([
    ['a duplicate (already in this stream)', [registered(register('x1', '重复', 'village', TACHENG))], register('x1', '重复', 'village', TACHENG), 'conflict', 'unit.register.duplicate'],
    ['a duplicate (already in the hierarchy)', [], register(TACHENG, '塔城镇', 'township', WEIXI), 'conflict', 'unit.register.duplicate'],
    ['an unknown parent', [], register('x2', '某村', 'village', 'nowhere'), 'not_found', 'unit.register.unknown_parent'],
    ['a village directly under a county', [], register('x3', '某村', 'village', WEIXI), 'validation', 'unit.register.level_order'],
    ['a county under a township', [], register('x4', '某县', 'county', TACHENG), 'validation', 'unit.register.level_order'],
    ['a township under the prefecture', [], register('x5', '某镇', 'township', PREFECTURE), 'validation', 'unit.register.level_order'],
    ['a relocation site under a village', [], register('x6', '安置点', 'relocation_site', QIBIE), 'validation', 'unit.register.level_order'],
    ['anything under a relocation site', [], register('x7', '某村', 'village', WEIXI_SITE), 'validation', 'unit.register.level_order'],
    ['a prefecture under a prefecture', [], register('x8', '某州', 'prefecture', PREFECTURE), 'validation', 'unit.register.level_order'],
    ['a county without parent', [], register('x9', '某县', 'county', null), 'validation', 'unit.register.level_order'],
    ['an empty name', [], register('x10', '', 'village', TACHENG), 'validation', 'event.encode'],
    ['an id with spaces', [], register('x 11', '某村', 'village', TACHENG), 'validation', 'event.encode'],
  ] as const)('refuses %s', (_name, history, command, code, rule) => {
    given(unitDecider, [...history]).when(command, ctx(actors.admin)).thenRefused(code, rule);
  });

  it('is done by admins only, inside their subtree', () => {
    const village = register('533423102202', '新村', 'village', YONGCHUN);
    given(unitDecider).when(village, ctx(actors.weixiAdmin)).then([registered(village)]);
    given(unitDecider).when(village, ctx(actors.weixiSupervisor)).thenRefused('forbidden', 'access.role');
    given(unitDecider)
      .when(village, ctx({ ...actors.weixiAdmin, unitId: TACHENG }))
      .thenRefused('forbidden', 'access.scope');
    // A root can only be registered by an admin of that very unit.
    given(unitDecider)
      .when(register('530000', '云南省外的州', 'prefecture', null), ctx(actors.admin, undefined, { hierarchy: empty }))
      .thenRefused('forbidden', 'access.scope');
  });

  it('evolve ignores a second registration', () => {
    const a = registered(register('u1', '甲', 'village', TACHENG));
    const b = registered(register('u1', '乙', 'village', TACHENG));
    expect(fold(unitDecider, [a, b])).toMatchObject({ name: '甲' });
  });
});

describe('hierarchy helpers', () => {
  it('lists ancestors nearest first', () => {
    expect(ancestorsOf(hierarchy, QIBIE)).toEqual([TACHENG, WEIXI, PREFECTURE]);
    expect(ancestorsOf(hierarchy, PREFECTURE)).toEqual([]);
    expect(ancestorsOf(hierarchy, 'nowhere')).toEqual([]);
  });

  it('tells strictly above and within', () => {
    expect(isStrictlyAbove(hierarchy, WEIXI, QIBIE)).toBe(true);
    expect(isStrictlyAbove(hierarchy, QIBIE, QIBIE)).toBe(false);
    expect(isStrictlyAbove(hierarchy, QIBIE, WEIXI)).toBe(false);
    expect(isStrictlyAbove(hierarchy, YONGCHUN, QIBIE)).toBe(false);
    expect(isWithin(hierarchy, QIBIE, QIBIE)).toBe(true);
    expect(isWithin(hierarchy, PREFECTURE, WEIXI_SITE)).toBe(true);
    expect(isWithin(hierarchy, TACHENG, WEIXI_SITE)).toBe(false);
  });

  it('stops on a cycle instead of looping', () => {
    const cyclic = hierarchyFromUnits([
      { unitId: 'a', parentId: 'b', level: 'county' },
      { unitId: 'b', parentId: 'a', level: 'county' },
    ]);
    expect(ancestorsOf(cyclic, 'a')).toEqual(['b']);
    expect(isStrictlyAbove(cyclic, 'a', 'a')).toBe(false);
  });
});

describe('clearance (户户清/村村清/县县清)', () => {
  const clear = { problemsOpen: 0, householdsTotal: 666, householdsMeetingStandard: 666, listingsActive: 0 };
  it('holds only when nothing is open, every household meets the standard and nothing is listed', () => {
    expect(isClear(clear)).toBe(true);
    expect(isClear({ ...clear, problemsOpen: 1 })).toBe(false);
    expect(isClear({ ...clear, householdsMeetingStandard: 665 })).toBe(false);
    expect(isClear({ ...clear, listingsActive: 1 })).toBe(false);
    expect(isClear({ problemsOpen: 0, householdsTotal: 0, householdsMeetingStandard: 0, listingsActive: 0 })).toBe(true);
  });

  it('names the level all clear beneath the unit: 户户清 a village, 村村清 a township or county, 县县清 a prefecture', () => {
    expect(clearanceFlags).toEqual({
      village: '户户清',
      township: '村村清',
      county: '村村清',
      prefecture: '县县清',
      relocation_site: null,
    });
  });
});

describe('unit population (what poverty incidence is measured against)', () => {
  const qibie: UnitEvent = { type: 'UnitRegistered', data: { unitId: QIBIE, name: '启别村', level: 'village', parentId: TACHENG } };
  const update = (population: number): UnitCommand => ({ type: 'updatePopulation', unitId: QIBIE, population });

  it('is registered by an admin above or at the unit, and kept on its state', () => {
    const { state } = given(unitDecider, [qibie])
      .when(update(300), ctx(actors.weixiAdmin))
      .then([{ type: 'UnitPopulationUpdated', data: { unitId: QIBIE, population: 300 } }]);
    expect(state).toMatchObject({ status: 'registered', population: 300 });
  });

  it('appends nothing when the same figure is given again', () => {
    const history: UnitEvent[] = [qibie, { type: 'UnitPopulationUpdated', data: { unitId: QIBIE, population: 300 } }];
    given(unitDecider, history).when(update(300), ctx(actors.weixiAdmin)).then([]);
  });

  it.each([
    ['an unregistered unit', [], actors.weixiAdmin, 'not_found', 'unit.not_found'],
    ['an admin of another county', [qibie], { ...actors.weixiAdmin, unitId: DEQIN }, 'forbidden', 'access.scope'],
    ['a supervisor', [qibie], actors.weixiSupervisor, 'forbidden', 'access.role'],
  ] as const)('is refused for %s', (_name, history, actor, code, rule) => {
    given(unitDecider, [...history]).when(update(300), ctx(actor)).thenRefused(code, rule);
  });
});
