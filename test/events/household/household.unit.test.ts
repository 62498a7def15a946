import { describe, expect, it } from 'vitest';
import { fold } from '../../../events/decider.js';
import {
  type HouseholdCommand,
  householdDecider,
  type HouseholdEvent,
  householdStreamId,
  meetsStandard,
  type RegisteredHousehold,
} from '../../../events/household/index.js';
import { actors, ctx, evidence, given, QIBIE, TACHENG, TUOZHI } from '../gwt.js';

const householdId = 'H-533423101201-0007';
const cmd = <T extends HouseholdCommand>(command: T) => command;

const registered: HouseholdEvent = {
  type: 'HouseholdRegistered',
  data: { householdId, villageId: QIBIE, members: 4, category: 'registered' },
};
const measureAdded = (measureId: string): HouseholdEvent => ({
  type: 'PlanMeasureAdded',
  data: {
    measureId,
    kind: 'employment',
    description: '安排1人到县城安置点扶贫车间就业',
    responsibleUnitId: TACHENG,
    deadline: '2020-04-30T23:59:59.999+08:00',
  },
});
const measureCompleted = (measureId: string): HouseholdEvent => ({
  type: 'PlanMeasureCompleted',
  data: { measureId, evidence: [evidence(3)] },
});
const flagRaised: HouseholdEvent = { type: 'MonitoringFlagRaised', data: { reason: '因病返贫风险' } };
const flagCleared: HouseholdEvent = { type: 'MonitoringFlagCleared', data: { reason: '医疗保障到位，风险消除' } };

const state = (events: HouseholdEvent[]) => fold(householdDecider, events) as RegisteredHousehold;
const NOW = '2020-03-01T09:00:00.000+08:00';

describe('household stream', () => {
  it('names its stream household-<id>', () => {
    expect(householdStreamId(householdId)).toBe(`household-${householdId}`);
  });

  describe('registration', () => {
    const register = cmd({ type: 'registerHousehold', householdId, villageId: QIBIE, members: 4, category: 'registered' });

    it('registers a household in a village, by an admin above', () => {
      given(householdDecider).when(register, ctx(actors.weixiAdmin, NOW)).then([registered]);
    });

    it.each([
      ['twice', [registered], register, actors.weixiAdmin, 'conflict', 'household.register.duplicate'],
      ['in an unknown village', [], { ...register, villageId: 'nowhere' }, actors.weixiAdmin, 'not_found', 'household.register.unknown_village'],
      ['in a township', [], { ...register, villageId: TACHENG }, actors.weixiAdmin, 'validation', 'household.register.not_a_village'],
      ['by a cadre', [], register, actors.qibieCadre, 'forbidden', 'access.role'],
      ['outside the admin\'s subtree', [], { ...register, villageId: TUOZHI }, { ...actors.weixiAdmin, unitId: TACHENG }, 'forbidden', 'access.scope'],
      ['with no members', [], { ...register, members: 0 }, actors.weixiAdmin, 'validation', 'event.encode'],
    ] as const)('refuses %s', (_name, history, command, actor, code, rule) => {
      given(householdDecider, [...history]).when(command, ctx(actor, NOW)).thenRefused(code, rule);
    });

    it('refuses any other command before registration', () => {
      given(householdDecider)
        .when({ type: 'raiseMonitoringFlag', householdId, reason: '风险' }, ctx(actors.qibieCadre, NOW))
        .thenRefused('not_found', 'household.not_found');
    });
  });

  describe('category', () => {
    const change = cmd({ type: 'changeHouseholdCategory', householdId, category: 'monitored', reason: '纳入监测' });

    it('changes with a reason and records where it came from', () => {
      given(householdDecider, [registered])
        .when(change, ctx(actors.weixiAdmin, NOW))
        .then([{ type: 'HouseholdCategoryChanged', data: { householdId, from: 'registered', to: 'monitored', reason: '纳入监测' } }]);
      expect(state([registered, { type: 'HouseholdCategoryChanged', data: { householdId, from: 'registered', to: 'monitored', reason: 'x' } }]).category).toBe('monitored');
    });

    it('refuses no change, no reason, and non-admins', () => {
      given(householdDecider, [registered]).when({ ...change, category: 'registered' }, ctx(actors.weixiAdmin, NOW)).thenRefused('conflict', 'household.category.unchanged');
      given(householdDecider, [registered]).when({ ...change, reason: '' }, ctx(actors.weixiAdmin, NOW)).thenRefused('validation', 'household.category.reason_required');
      given(householdDecider, [registered]).when(change, ctx(actors.qibieCadre, NOW)).thenRefused('forbidden', 'access.role');
    });
  });

  describe('plan measures (一户一方案)', () => {
    const add = cmd({
      type: 'addPlanMeasure',
      householdId,
      measureId: 'HM1',
      kind: 'employment',
      description: '安排1人到县城安置点扶贫车间就业',
      responsibleUnitId: TACHENG,
      deadline: '2020-04-30',
    });
    const complete = cmd({ type: 'completePlanMeasure', householdId, measureId: 'HM1', evidence: [evidence(3)] });

    it('adds measures with a deadline at the end of the day, and counts done/total', () => {
      given(householdDecider, [registered]).when(add, ctx(actors.qibieCadre, NOW)).then([measureAdded('HM1')]);
      given(householdDecider, [registered, measureAdded('HM1')]).when(complete, ctx(actors.qibieCadre, NOW)).then([measureCompleted('HM1')]);
      const s = state([registered, measureAdded('HM1'), measureAdded('HM2'), measureCompleted('HM1')]);
      expect({ done: s.measuresDone, total: s.measuresTotal }).toEqual({ done: 1, total: 2 });
    });

    it.each([
      ['a repeated measure id', [registered, measureAdded('HM1')], add, 'conflict', 'household.measure.duplicate'],
      ['an unknown responsible unit', [registered], { ...add, responsibleUnitId: 'nowhere' }, 'not_found', 'household.measure.unknown_unit'],
      ['a past deadline', [registered], { ...add, deadline: '2020-02-01' }, 'validation', 'household.measure.deadline_passed'],
      ['completing an unknown measure', [registered], complete, 'not_found', 'household.measure.unknown'],
      ['completing a measure twice', [registered, measureAdded('HM1'), measureCompleted('HM1')], complete, 'conflict', 'household.measure.already_completed'],
    ] as const)('refuses %s', (_name, history, command, code, rule) => {
      given(householdDecider, [...history]).when(command, ctx(actors.qibieCadre, NOW)).thenRefused(code, rule);
    });

    describe('a plan recorded after it was made (an imported plan)', () => {
      const LATE = '2020-06-10T09:00:00.000+08:00';
      it('takes a deadline that has passed by now when it is after the day the measure was planned', () => {
        given(householdDecider, [registered])
          .when({ ...add, plannedAt: '2020-03-01' }, ctx(actors.qibieCadre, LATE))
          .then([{ ...measureAdded('HM1'), data: { ...measureAdded('HM1').data, plannedAt: '2020-03-01T00:00:00.000+08:00' } } as HouseholdEvent]);
      });
      it.each([
        ['a deadline not after the planning', { ...add, plannedAt: '2020-05-01' }, 'household.measure.deadline_passed'],
        ['a planning after now', { ...add, deadline: '2020-07-30', plannedAt: '2020-06-11' }, 'household.measure.planned_in_future'],
        ['a past deadline without the planning day', add, 'household.measure.deadline_passed'],
      ] as const)('refuses %s', (_name, command, rule) => {
        given(householdDecider, [registered]).when(command, ctx(actors.qibieCadre, LATE)).thenRefused('validation', rule);
      });
    });

    it('keeps cadres inside their subtree', () => {
      given(householdDecider, [registered]).when(add, ctx(actors.yongchunCadre, NOW)).thenRefused('forbidden', 'access.scope');
      given(householdDecider, [registered]).when(add, ctx(actors.prefectureInspector, NOW)).thenRefused('forbidden', 'access.role');
    });
  });

  describe('assessment (两不愁三保障 + water)', () => {
    const all = { food: true, clothing: true, education: true, medical: true, housing: true, water: true };
    const assess = (over: Partial<typeof all> = {}) => cmd({ type: 'assessHousehold', householdId, ...all, ...over });

    it('meets the standard exactly when all six hold', () => {
      given(householdDecider, [registered])
        .when(assess(), ctx(actors.qibieCadre, NOW))
        .then([{ type: 'HouseholdAssessed', data: { ...all, meetsStandard: true } }]);
      for (const standard of Object.keys(all) as (keyof typeof all)[]) {
        const [event] = given(householdDecider, [registered]).when(assess({ [standard]: false }), ctx(actors.qibieCadre, NOW)).run();
        expect(event?.data).toMatchObject({ [standard]: false, meetsStandard: false });
      }
    });

    it('the latest assessment counts', () => {
      const yes: HouseholdEvent = { type: 'HouseholdAssessed', data: { ...all, meetsStandard: true } };
      const no: HouseholdEvent = { type: 'HouseholdAssessed', data: { ...all, housing: false, meetsStandard: false } };
      expect(meetsStandard(state([registered]))).toBe(false);
      expect(meetsStandard(state([registered, no, yes]))).toBe(true);
      expect(meetsStandard(state([registered, yes, no]))).toBe(false);
    });

    it('may be made by a supervisor strictly above, not by an inspector', () => {
      given(householdDecider, [registered]).when(assess(), ctx(actors.weixiSupervisor, NOW)).run();
      given(householdDecider, [registered]).when(assess(), ctx(actors.prefectureInspector, NOW)).thenRefused('forbidden', 'access.role');
    });
  });

  describe('monitoring flag', () => {
    const raise = cmd({ type: 'raiseMonitoringFlag', householdId, reason: '因病返贫风险' });
    const clear = cmd({ type: 'clearMonitoringFlag', householdId, reason: '医疗保障到位，风险消除' });

    it('is raised, then cleared, consistently', () => {
      given(householdDecider, [registered]).when(raise, ctx(actors.qibieCadre, NOW)).then([flagRaised]);
      expect(state([registered, flagRaised]).monitoringFlag).toEqual({ raised: true, reason: '因病返贫风险' });
      given(householdDecider, [registered, flagRaised]).when(clear, ctx(actors.qibieCadre, NOW)).then([flagCleared]);
      expect(state([registered, flagRaised, flagCleared]).monitoringFlag.raised).toBe(false);
      given(householdDecider, [registered, flagRaised, flagCleared]).when(raise, ctx(actors.qibieCadre, NOW)).then([flagRaised]);
    });

    it('refuses raising twice, clearing when not raised, and no reason', () => {
      given(householdDecider, [registered, flagRaised]).when(raise, ctx(actors.qibieCadre, NOW)).thenRefused('conflict', 'household.flag.already_raised');
      given(householdDecider, [registered]).when(clear, ctx(actors.qibieCadre, NOW)).thenRefused('conflict', 'household.flag.not_raised');
      given(householdDecider, [registered, flagRaised, flagCleared]).when(clear, ctx(actors.qibieCadre, NOW)).thenRefused('conflict', 'household.flag.not_raised');
      given(householdDecider, [registered]).when({ ...raise, reason: '' }, ctx(actors.qibieCadre, NOW)).thenRefused('validation', 'household.flag.reason_required');
    });
  });

  it('refuses a command addressed to another household', () => {
    given(householdDecider, [registered])
      .when({ type: 'raiseMonitoringFlag', householdId: 'other', reason: '风险' }, ctx(actors.qibieCadre, NOW))
      .thenRefused('validation', 'household.stream_mismatch');
  });
});
