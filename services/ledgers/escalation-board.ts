import type { Recorded } from './recorded.js';
import type { ProblemEvent } from '../../events/problem/events.js';
import type { EscalationRow, ProblemRow } from '../ports/read-model.js';

/**
 * The escalation board: one active notice (督办单) per escalated problem, the latest escalation. A notice
 * stops being active when its clock stops applying: the problem is cleared, reopened with a new deadline,
 * or its deadline extended. Returns the new notice, or null when there is none. Pure.
 */
export function evolveEscalationRow(
  notice: EscalationRow | null,
  event: Recorded<ProblemEvent>,
  problem: ProblemRow,
): EscalationRow | null {
  switch (event.type) {
    case 'ProblemEscalated':
      return {
        problemId: problem.problemId,
        unitId: problem.unitId,
        responsibleUnitId: problem.responsibleUnitId,
        ancestors: problem.ancestors,
        level: event.data.level,
        toUnitId: event.data.toUnitId,
        colour: event.data.colour,
        reason: event.data.reason,
        escalatedAt: event.metadata.occurredAt,
        deadline: problem.deadline,
      };
    case 'ProblemCleared':
    case 'ProblemReopened':
    case 'DeadlineExtended':
      return null;
    default:
      return notice;
  }
}
