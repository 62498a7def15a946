import { createHash } from 'node:crypto';
import type { Actor } from '../../events/envelope.js';
import { canSeeProblem, outOfSight } from '../../events/access.js';
import {
  problemDecider,
  problemStreamId,
  type EscalationPolicy,
  type ProblemCommand,
  type ProblemCommandOf,
  type ProblemEvent,
  type ProblemState,
} from '../../events/problem/index.js';
import type { CommandMeta, CommandHandler, StreamKind } from './handler.js';

/** Units a problem involves: where it was found, who must fix it, who carries out its measures. */
export function unitsOfProblem(state: ProblemState): string[] {
  if (state.status === 'none') return [];
  return [state.targetUnitId, state.responsibleUnitId, ...Object.values(state.measures).map((m) => m.assigneeUnitId)];
}

export const problemStream: StreamKind<ProblemCommand, ProblemEvent, ProblemState> = {
  name: 'problem',
  decider: problemDecider,
  unitsOfState: unitsOfProblem,
  guard(state, actor, hierarchy) {
    if (state.status !== 'none' && !canSeeProblem(actor, state, hierarchy)) {
      throw outOfSight('problem.not_found', `problem ${state.problemId} was never found`, { problemId: state.problemId });
    }
  },
};

/** An id for something the client did not name: derived from its Idempotency-Key when it sent one, so a
 *  retried creation names the same item (and is refused as a duplicate) instead of creating a second. */
export function newId(prefix: string, meta: { actor: Actor; idempotencyKey?: string | undefined }, fallback: () => string): string {
  if (!meta.idempotencyKey) return `${prefix}${fallback()}`;
  const digest = createHash('sha256').update(`${meta.actor.userId}\n${meta.idempotencyKey}`).digest('hex');
  return `${prefix}${digest.slice(0, 24)}`;
}

type Without<T, K extends keyof T> = Omit<T, K>;
export type FindProblemInput = Without<ProblemCommandOf<'findProblem'>, 'type' | 'policy'>;

/**
 * Problem commands as the API offers them. The escalation policy is deployment data (ESCALATION_POLICY),
 * frozen into each problem when it is found; clients cannot choose their own.
 */
export function createProblemCommands(deps: { handler: CommandHandler; policy: EscalationPolicy }) {
  const run = (problemId: string, command: ProblemCommand, meta: CommandMeta) =>
    deps.handler.run(problemStream, problemStreamId(problemId), command, meta);

  return {
    find: (input: FindProblemInput, meta: CommandMeta) =>
      run(input.problemId, { type: 'findProblem', ...input, policy: deps.policy }, meta),
    acknowledge: (problemId: string, meta: CommandMeta) => run(problemId, { type: 'acknowledgeProblem', problemId }, meta),
    assignMeasure: (problemId: string, input: Without<ProblemCommandOf<'assignMeasure'>, 'type' | 'problemId'>, meta: CommandMeta) =>
      run(problemId, { type: 'assignMeasure', problemId, ...input }, meta),
    completeMeasure: (problemId: string, input: Without<ProblemCommandOf<'completeMeasure'>, 'type' | 'problemId'>, meta: CommandMeta) =>
      run(problemId, { type: 'completeMeasure', problemId, ...input }, meta),
    submit: (problemId: string, input: Without<ProblemCommandOf<'submitRectification'>, 'type' | 'problemId'>, meta: CommandMeta) =>
      run(problemId, { type: 'submitRectification', problemId, ...input }, meta),
    reject: (problemId: string, input: Without<ProblemCommandOf<'rejectRectification'>, 'type' | 'problemId'>, meta: CommandMeta) =>
      run(problemId, { type: 'rejectRectification', problemId, ...input }, meta),
    clear: (problemId: string, meta: CommandMeta) => run(problemId, { type: 'clearProblem', problemId }, meta),
    extend: (problemId: string, input: Without<ProblemCommandOf<'extendDeadline'>, 'type' | 'problemId'>, meta: CommandMeta) =>
      run(problemId, { type: 'extendDeadline', problemId, ...input }, meta),
    reopen: (problemId: string, input: Without<ProblemCommandOf<'reopenProblem'>, 'type' | 'problemId'>, meta: CommandMeta) =>
      run(problemId, { type: 'reopenProblem', problemId, ...input }, meta),
    /** The problem as its stream says now, with the revision to send back in If-Match. */
    async get(problemId: string) {
      return deps.handler.load(problemStream, problemStreamId(problemId));
    },
  };
}
export type ProblemCommands = ReturnType<typeof createProblemCommands>;
