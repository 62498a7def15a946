import { describe, expect, it } from 'vitest';
import {
  type Action,
  actions,
  authorize,
  canSeeProblem,
  isAuthorized,
  isProblemWithin,
  requireVisibleUnits,
  type Role,
  unitsHoldingProblem,
} from '../../events/access.js';
import type { DubanError } from '../../events/errors.js';
import { actors, DEQIN, expectRefusal, hierarchy, PREFECTURE, QIBIE, TACHENG, TUOZHI, WEIXI, YONGCHUN } from './gwt.js';

/**
 * DOMAIN.md "Roles and scope" as a table: for a user of 维西县 (county), which actions are allowed on
 * their own unit, on a unit below (塔城镇), on a unit above (迪庆州) and on a unit beside (德钦县's
 * subtree is outside). ✓ allowed, ✗ refused.
 */
type Cell = '✓' | '✗';
const table: Record<Role, Partial<Record<Action, [own: Cell, below: Cell, above: Cell]>>> = {
  admin: {
    'unit.register': ['✓', '✓', '✗'],
    'household.register': ['✓', '✓', '✗'],
    'household.changeCategory': ['✓', '✓', '✗'],
    'listing.list': ['✗', '✗', '✗'],
    'problem.find': ['✗', '✗', '✗'],
    'problem.clear': ['✗', '✗', '✗'],
    read: ['✓', '✓', '✗'],
  },
  supervisor: {
    'unit.register': ['✗', '✗', '✗'],
    'listing.list': ['✗', '✓', '✗'],
    'listing.delist': ['✗', '✓', '✗'],
    'problem.find': ['✗', '✓', '✗'],
    'problem.reject': ['✗', '✓', '✗'],
    'problem.clear': ['✗', '✓', '✗'],
    'problem.extend': ['✗', '✓', '✗'],
    'problem.reopen': ['✗', '✓', '✗'],
    'problem.acknowledge': ['✗', '✗', '✗'],
    'problem.submitRectification': ['✗', '✗', '✗'],
    'problem.escalate': ['✗', '✗', '✗'],
    read: ['✓', '✓', '✗'],
  },
  cadre: {
    'problem.acknowledge': ['✓', '✓', '✗'],
    'problem.assignMeasure': ['✓', '✓', '✗'],
    'problem.completeMeasure': ['✓', '✓', '✗'],
    'problem.submitRectification': ['✓', '✓', '✗'],
    'problem.find': ['✗', '✗', '✗'],
    'problem.clear': ['✗', '✗', '✗'],
    'problem.extend': ['✗', '✗', '✗'],
    'listing.list': ['✗', '✗', '✗'],
    read: ['✓', '✓', '✗'],
  },
  inspector: {
    'problem.find': ['✓', '✓', '✗'],
    'problem.reopen': ['✓', '✓', '✗'],
    'problem.clear': ['✗', '✗', '✗'],
    'problem.acknowledge': ['✗', '✗', '✗'],
    'unit.register': ['✗', '✗', '✗'],
    read: ['✓', '✓', '✗'],
  },
  system: {
    'problem.remind': ['✓', '✓', '✓'],
    'problem.escalate': ['✓', '✓', '✓'],
    'problem.clear': ['✗', '✗', '✗'],
    'problem.find': ['✗', '✗', '✗'],
  },
};

const rows = Object.entries(table).flatMap(([role, byAction]) =>
  Object.entries(byAction).map(([action, cells]) => ({ role: role as Role, action: action as Action, cells })),
);

describe('roles and scope', () => {
  it.each(rows)('$role $action: own/below/above = $cells', ({ role, action, cells }) => {
    const actor = { userId: `u-${role}`, unitId: WEIXI, role };
    const targets = [WEIXI, TACHENG, PREFECTURE];
    targets.forEach((unitId, i) => {
      const expected = cells[i] === '✓';
      expect(isAuthorized(actor, action, [unitId], hierarchy), `${role} ${action} on ${unitId}`).toBe(expected);
      if (!expected) {
        const rule = cells.includes('✓') ? 'access.scope' : 'access.role';
        expectRefusal(() => authorize(actor, action, [unitId], hierarchy), 'forbidden', rule);
      }
    });
  });

  it('every action is reachable by some role', () => {
    for (const action of actions) {
      const someone = (['admin', 'supervisor', 'cadre', 'inspector', 'system'] as const).some((role) =>
        isAuthorized({ userId: 'u', unitId: PREFECTURE, role }, action, [QIBIE], hierarchy),
      );
      expect(someone, action).toBe(true);
    }
  });

  it('requires every target to be in scope, and treats unknown units as outside', () => {
    const cadre = actors.tachengCadre;
    expect(isAuthorized(cadre, 'problem.assignMeasure', [TACHENG, QIBIE], hierarchy)).toBe(true);
    expectRefusal(() => authorize(cadre, 'problem.assignMeasure', [TACHENG, TUOZHI], hierarchy), 'forbidden', 'access.scope');
    expectRefusal(() => authorize(cadre, 'read', ['nowhere'], hierarchy), 'forbidden', 'access.scope');
  });
});

describe('what a user may know exists (issue 9, observation 9)', () => {
  const concealedOf = (run: () => void) => {
    try {
      run();
    } catch (error) {
      const e = error as DubanError;
      return { code: e.code, rule: e.rule, message: e.message, concealed: e.details?.concealed };
    }
    return undefined;
  };

  it('answers a unit outside the subtree exactly as an unknown one; only `concealed` tells them apart', () => {
    const actor = actors.tachengCadre;
    expect(() => requireVisibleUnits(actor, [TACHENG, QIBIE], hierarchy)).not.toThrow();
    expect(concealedOf(() => requireVisibleUnits(actor, [YONGCHUN], hierarchy))).toEqual({
      code: 'not_found',
      rule: 'unit.not_found',
      message: `unit ${YONGCHUN} was not found`,
      concealed: 'access.scope',
    });
    expect(concealedOf(() => requireVisibleUnits(actor, ['nowhere'], hierarchy))).toMatchObject({
      code: 'not_found',
      rule: 'unit.not_found',
      concealed: 'unit.unknown',
    });
  });

  it('answers an unknown unit with 404 even to the top admin and the workflow', () => {
    for (const actor of [actors.admin, actors.system]) {
      expect(concealedOf(() => requireVisibleUnits(actor, ['nowhere'], hierarchy))).toMatchObject({ rule: 'unit.not_found' });
    }
    expect(() => requireVisibleUnits(actors.system, [DEQIN], hierarchy)).not.toThrow();
  });
});

describe("a unit's problems (issue 9, observation 6): in the subtree of every unit at or above its target or its responsible unit", () => {
  // Found in 启别村 (Qibie), handed to 永春乡 (Yongchun), a township beside Qibie's own.
  const problem = { targetUnitId: QIBIE, responsibleUnitId: YONGCHUN };

  it('lies beneath the target, the responsible unit and all above them, each once', () => {
    expect(unitsHoldingProblem(hierarchy, problem).sort()).toEqual([PREFECTURE, WEIXI, TACHENG, QIBIE, YONGCHUN].sort());
    expect(unitsHoldingProblem(hierarchy, { targetUnitId: QIBIE, responsibleUnitId: TACHENG }).sort()).toEqual([PREFECTURE, WEIXI, TACHENG, QIBIE].sort());
    expect(isProblemWithin(hierarchy, YONGCHUN, problem)).toBe(true);
    expect(isProblemWithin(hierarchy, TUOZHI, problem)).toBe(false);
  });

  it('is seen by the users of exactly those units', () => {
    expect(canSeeProblem(actors.yongchunCadre, problem, hierarchy)).toBe(true);
    expect(canSeeProblem(actors.qibieCadre, problem, hierarchy)).toBe(true);
    expect(canSeeProblem(actors.deqinSupervisor, problem, hierarchy)).toBe(false);
    expect(canSeeProblem(actors.system, problem, hierarchy)).toBe(true);
  });
});
