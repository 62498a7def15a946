import { expect } from 'vitest';
import { type DecideContext, type Decider, fold } from '../../events/decider.js';
import type { Actor, DomainEvent } from '../../events/envelope.js';
import { DubanError, type ErrorCode } from '../../events/errors.js';
import { hierarchyFromUnits, type UnitLevel } from '../../events/unit/hierarchy.js';

/**
 * Given / when / then for deciders: given these events, when this command (by this actor at this time),
 * then these events, or this refusal (error code and rule).
 */

/** 迪庆州 and part of its tree, with the seed's places (ids are administrative division codes). */
export const diqing = [
  { unitId: '533400', name: '迪庆藏族自治州', level: 'prefecture', parentId: null },
  { unitId: '533401', name: '香格里拉市', level: 'county', parentId: '533400' },
  { unitId: '533422', name: '德钦县', level: 'county', parentId: '533400' },
  { unitId: '533423', name: '维西傈僳族自治县', level: 'county', parentId: '533400' },
  { unitId: '533423101', name: '塔城镇', level: 'township', parentId: '533423' },
  { unitId: '533423101201', name: '启别村', level: 'village', parentId: '533423101' },
  { unitId: '533423102', name: '永春乡', level: 'township', parentId: '533423' },
  { unitId: '533423102201', name: '拖枝村', level: 'village', parentId: '533423102' },
  { unitId: 'site-533423-01', name: '维西县城集中安置点', level: 'relocation_site', parentId: '533423' },
] as const satisfies readonly { unitId: string; name: string; level: UnitLevel; parentId: string | null }[];

export const hierarchy = hierarchyFromUnits(diqing);

export const PREFECTURE = '533400';
export const SHANGRILA = '533401';
export const DEQIN = '533422';
export const WEIXI = '533423';
export const TACHENG = '533423101';
export const QIBIE = '533423101201';
export const YONGCHUN = '533423102';
export const TUOZHI = '533423102201';
export const WEIXI_SITE = 'site-533423-01';

const actor = (userId: string, unitId: string, role: Actor['role']): Actor => ({ userId, unitId, role });
export const actors = {
  admin: actor('admin-zhou', PREFECTURE, 'admin'),
  weixiAdmin: actor('admin-weixi', WEIXI, 'admin'),
  prefectureSupervisor: actor('sup-zhou', PREFECTURE, 'supervisor'),
  weixiSupervisor: actor('sup-weixi', WEIXI, 'supervisor'),
  weixiSupervisor2: actor('sup-weixi-2', WEIXI, 'supervisor'),
  tachengSupervisor: actor('sup-tacheng', TACHENG, 'supervisor'),
  deqinSupervisor: actor('sup-deqin', DEQIN, 'supervisor'),
  weixiCadre: actor('cadre-weixi', WEIXI, 'cadre'),
  tachengCadre: actor('cadre-tacheng', TACHENG, 'cadre'),
  qibieCadre: actor('cadre-qibie', QIBIE, 'cadre'),
  yongchunCadre: actor('cadre-yongchun', YONGCHUN, 'cadre'),
  prefectureInspector: actor('insp-zhou', PREFECTURE, 'inspector'),
  tachengInspector: actor('insp-tacheng', TACHENG, 'inspector'),
  system: actor('workflow', PREFECTURE, 'system'),
};

export const NOW = '2020-05-01T09:00:00.000+08:00';

export const ctx = (a: Actor, now: string = NOW, overrides: Partial<DecideContext> = {}): DecideContext => ({
  now,
  actor: a,
  hierarchy,
  ...overrides,
});

export const evidence = (n: number) => ({
  kind: 'photo' as const,
  uri: `https://files.example.cn/evidence/${n}.jpg`,
  sha256: n.toString(16).padStart(64, '0'),
});

export function expectRefusal(run: () => unknown, code: ErrorCode, rule: string) {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code} ${rule}`).toBeInstanceOf(DubanError);
  const error = caught as DubanError;
  expect({ code: error.code, rule: error.rule }).toEqual({ code, rule });
}

export function given<C, E extends DomainEvent, S>(decider: Decider<C, E, S>, events: E[] = []) {
  const state = fold(decider, events);
  return {
    state,
    when(command: C, context: DecideContext) {
      const run = () => decider.decide(command, state, context);
      return {
        run,
        then(expected: E[]) {
          const produced = run();
          expect(produced).toEqual(expected);
          return { events: produced, state: fold(decider, produced, state) };
        },
        thenRefused(code: ErrorCode, rule: string) {
          expectRefusal(run, code, rule);
        },
        /** Applies the produced events, for chaining: given(...).when(...).andThen() → new history. */
        history(): E[] {
          return [...events, ...run()];
        },
      };
    },
  };
}
