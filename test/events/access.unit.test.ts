import { describe, expect, it } from 'vitest';
import { type Action, actions, authorize, isAuthorized, type Role } from '../../events/access.js';
import { actors, expectRefusal, hierarchy, PREFECTURE, QIBIE, TACHENG, TUOZHI, WEIXI } from './gwt.js';

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
    'problem.colour': ['✓', '✓', '✓'],
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
