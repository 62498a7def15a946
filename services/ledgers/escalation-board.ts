import type { Recorded } from './recorded.js';
import type { ProblemEvent } from '../../events/problem/events.js';
import type { EscalationRow, ProblemRow } from '../ports/read-model.js';

/**
 * The escalation board: one active notice (督办单) per escalated problem, the latest escalation still in
 * force. A notice stops being active when its clock stops applying: the problem is cleared, reopened with a
 * new deadline, or its deadline extended. A verification notice (the verifier let its window lapse) is the
 * verifier's: a rejection ends the verification, and the responsible unit's own escalation, if it had one on
 * this clock, is the notice again. Returns the new notice, or null when there is none. Pure.
 */
export function evolveEscalationRow(
  notice: EscalationRow | null,
  event: Recorded<ProblemEvent>,
  problem: ProblemRow,
): EscalationRow | null {
  switch (event.type) {
    case 'ProblemEscalated': {
      const stage = event.data.stage ?? 'rectification';
      const standing = stage === 'verification' ? rectificationOf(notice) : undefined;
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
        stage,
        ...(standing ? { rectification: standing } : {}),
      };
    }
    case 'RectificationRejected': {
      if (notice?.stage !== 'verification') return notice;
      const { rectification, ...rest } = notice;
      return rectification ? { ...rest, ...rectification, stage: 'rectification' } : null;
    }
    case 'ProblemCleared':
    case 'ProblemReopened':
    case 'DeadlineExtended':
      return null;
    default:
      return notice;
  }
}

/** The responsible unit's escalation a notice holds: its own, or the one a verification notice stands over. */
function rectificationOf(notice: EscalationRow | null): EscalationRow['rectification'] {
  if (!notice) return undefined;
  if (notice.stage === 'verification') return notice.rectification;
  const { level, toUnitId, colour, reason, escalatedAt } = notice;
  return { level, toUnitId, colour, reason, escalatedAt };
}
