import type { Actor } from './envelope.js';
import { forbid } from './errors.js';
import { type HierarchyView, isStrictlyAbove, isWithin } from './unit/hierarchy.js';

/**
 * Roles and scope (DOMAIN.md): every user acts only inside their unit's subtree. For each action a role
 * is either not allowed, allowed on targets within its subtree (the own unit included), or allowed only on
 * targets strictly below its own unit. `system` is the workflow acting on the clock.
 */
export const actions = [
  'unit.register',
  'household.register',
  'household.changeCategory',
  'household.addPlanMeasure',
  'household.completePlanMeasure',
  'household.assess',
  'household.flag',
  'listing.list',
  'listing.delist',
  'problem.find',
  'problem.acknowledge',
  'problem.assignMeasure',
  'problem.completeMeasure',
  'problem.submitRectification',
  'problem.reject',
  'problem.clear',
  'problem.extend',
  'problem.reopen',
  'problem.remind',
  'problem.escalate',
  'problem.colour',
  'review.compile',
  'read',
] as const;
export type Action = (typeof actions)[number];
export type Role = Actor['role'];

export type Scope = 'within' | 'strictlyBelow' | 'anywhere';

/** Role → action → scope; a missing entry means the role may not do it. */
export const accessPolicy: Record<Role, Partial<Record<Action, Scope>>> = {
  admin: {
    'unit.register': 'within',
    'household.register': 'within',
    'household.changeCategory': 'within',
    'household.addPlanMeasure': 'within',
    read: 'within',
  },
  supervisor: {
    'household.assess': 'strictlyBelow',
    'household.flag': 'strictlyBelow',
    'listing.list': 'strictlyBelow',
    'listing.delist': 'strictlyBelow',
    'problem.find': 'strictlyBelow',
    'problem.reject': 'strictlyBelow',
    'problem.clear': 'strictlyBelow',
    'problem.extend': 'strictlyBelow',
    'problem.reopen': 'strictlyBelow',
    'review.compile': 'within',
    read: 'within',
  },
  cadre: {
    'household.addPlanMeasure': 'within',
    'household.completePlanMeasure': 'within',
    'household.assess': 'within',
    'household.flag': 'within',
    'problem.acknowledge': 'within',
    'problem.assignMeasure': 'within',
    'problem.completeMeasure': 'within',
    'problem.submitRectification': 'within',
    'review.compile': 'within',
    read: 'within',
  },
  inspector: {
    'problem.find': 'within',
    'problem.reopen': 'within',
    read: 'within',
  },
  system: {
    'problem.remind': 'anywhere',
    'problem.escalate': 'anywhere',
    'problem.colour': 'anywhere',
    'review.compile': 'anywhere',
    read: 'anywhere',
  },
};

export function scopeOf(role: Role, action: Action): Scope | undefined {
  return accessPolicy[role][action];
}

export function isAuthorized(
  actor: Actor,
  action: Action,
  targetUnitIds: readonly string[],
  hierarchy: HierarchyView,
): boolean {
  try {
    authorize(actor, action, targetUnitIds, hierarchy);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws DubanError 'forbidden' unless the actor's role may do `action` on every target unit.
 * Rules: `access.role` (the role may not do this at all), `access.scope` (a target is outside the
 * actor's subtree, or not strictly below when the action requires it).
 */
export function authorize(
  actor: Actor,
  action: Action,
  targetUnitIds: readonly string[],
  hierarchy: HierarchyView,
): void {
  const scope = scopeOf(actor.role, action);
  if (!scope) {
    throw forbid('access.role', `a ${actor.role} may not ${action}`, { action, role: actor.role });
  }
  if (scope === 'anywhere') return;
  for (const unitId of targetUnitIds) {
    const ok =
      scope === 'within'
        ? isWithin(hierarchy, actor.unitId, unitId)
        : isStrictlyAbove(hierarchy, actor.unitId, unitId);
    if (!ok) {
      throw forbid(
        'access.scope',
        scope === 'within'
          ? `unit ${unitId} is outside the subtree of ${actor.unitId}`
          : `unit ${unitId} is not strictly below ${actor.unitId}`,
        { action, role: actor.role, actorUnitId: actor.unitId, unitId, scope },
      );
    }
  }
}
