import { scopeOf, type Action } from '../../events/access.js';
import type { Principal, Problem } from './api/types.js';

export type ProblemAction = 'acknowledge' | 'assignMeasure' | 'completeMeasure' | 'submit' | 'reject' | 'clear' | 'extend' | 'reopen';

const policyAction: Record<ProblemAction, Action> = {
  acknowledge: 'problem.acknowledge',
  assignMeasure: 'problem.assignMeasure',
  completeMeasure: 'problem.completeMeasure',
  submit: 'problem.submitRectification',
  reject: 'problem.reject',
  clear: 'problem.clear',
  extend: 'problem.extend',
  reopen: 'problem.reopen',
};

/** Whether the problem's state lets the action through at all (the decider's rules, as far as the page knows them). */
const fitsState: Record<ProblemAction, (p: Problem, user: Principal) => boolean> = {
  acknowledge: (p) => p.status === 'open' && !p.acknowledged,
  assignMeasure: (p) => p.status !== 'cleared',
  completeMeasure: (p) => p.status !== 'cleared' && p.measures.some((m) => !m.completed),
  submit: (p) => p.acknowledged && (p.status === 'open' || p.status === 'acknowledged'),
  reject: (p) => p.status === 'submitted',
  clear: (p, user) => p.status === 'submitted' && p.measuresDone === p.measuresTotal && p.rectification?.submittedBy.userId !== user.userId,
  extend: (p) => p.status !== 'cleared',
  reopen: (p) => p.status === 'cleared',
};

/**
 * The actions to offer on a problem: the role may take it (events/access.ts, the service's own policy), on
 * this problem's responsible unit (a problem the user can see lies within their subtree, so "strictly below"
 * means "not their own unit"), in the problem's present state. The service decides again on every request.
 */
export function problemActions(problem: Problem, user: Principal): ProblemAction[] {
  return (Object.keys(policyAction) as ProblemAction[]).filter((action) => {
    const scope = scopeOf(user.role, policyAction[action]);
    if (!scope) return false;
    if (scope === 'strictlyBelow' && problem.responsibleUnitId === user.unitId) return false;
    return fitsState[action](problem, user);
  });
}
