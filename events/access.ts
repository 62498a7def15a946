import type { Actor } from './envelope.js';
import { type DubanError, forbid, notFound } from './errors.js';
import { ancestorsOf, type HierarchyView, isKnownUnit, isStrictlyAbove, isWithin } from './unit/hierarchy.js';

/**
 * Roles and scope (DOMAIN.md): every user acts only inside their unit's subtree. For each action a role
 * is either not allowed, allowed on targets within its subtree (the own unit included), or allowed only on
 * targets strictly below its own unit. `system` is the workflow acting on the clock.
 */
export const actions = [
  'unit.register',
  'unit.updatePopulation',
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
    'unit.updatePopulation': 'within',
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

/**
 * What a user may know exists: a unit outside their subtree is answered exactly as one that does not exist,
 * so an answer never reveals that an id exists elsewhere. `concealed` (kept for the log, never shown) tells
 * the two apart: `unit.unknown` or `access.scope`.
 */
export function requireVisibleUnits(actor: Actor, unitIds: readonly string[], hierarchy: HierarchyView): void {
  const readScope = scopeOf(actor.role, 'read');
  for (const unitId of unitIds) {
    const known = isKnownUnit(hierarchy, unitId);
    if (known && (readScope === 'anywhere' || (readScope === 'within' && isWithin(hierarchy, actor.unitId, unitId)))) continue;
    throw notFound('unit.not_found', `unit ${unitId} was not found`, {
      unitId,
      concealed: known ? 'access.scope' : 'unit.unknown',
    });
  }
}

/** The two units a problem belongs to: where it was found, and who must fix it. */
export interface ProblemUnits {
  targetUnitId: string;
  responsibleUnitId: string;
}

/**
 * A unit's problems, one rule for every view: a problem lies in the subtree of every unit at or above its
 * target or its responsible unit. That unit's users may see it, and its roll-ups (ledgers, escalation board,
 * reviews) count it, once, even when both units lie beneath it.
 */
export const isProblemWithin = (hierarchy: HierarchyView, unitId: string, problem: ProblemUnits) =>
  isWithin(hierarchy, unitId, problem.targetUnitId) || isWithin(hierarchy, unitId, problem.responsibleUnitId);

/** Every unit whose subtree holds the problem (see isProblemWithin), each once: the target's line from the root down, then the responsible unit's. */
export function unitsHoldingProblem(hierarchy: HierarchyView, problem: ProblemUnits): string[] {
  const line = (unitId: string) => [...ancestorsOf(hierarchy, unitId).reverse(), unitId];
  return [...new Set([...line(problem.targetUnitId), ...line(problem.responsibleUnitId)])];
}

/** A user sees a problem when it lies in their subtree (the workflow sees every problem). */
export function canSeeProblem(actor: Actor, problem: ProblemUnits, hierarchy: HierarchyView): boolean {
  const readScope = scopeOf(actor.role, 'read');
  return readScope === 'anywhere' || (readScope === 'within' && isProblemWithin(hierarchy, actor.unitId, problem));
}

/**
 * An item (problem, household, listing) the user may not see, answered with the very rule and message its
 * decider gives one that does not exist; `concealed` keeps the truth for the log.
 */
export const outOfSight = (rule: string, message: string, details: Record<string, unknown>): DubanError =>
  notFound(rule, message, { ...details, concealed: 'access.scope' });
