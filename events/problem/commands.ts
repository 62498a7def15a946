import { z } from 'zod';
import { evidenceListSchema, idSchema, isoTime, textSchema } from '../common.js';
import { problemCategorySchema, problemSourceSchema } from './events.js';
import { escalationPolicySchema, isoDurationSchema, severitySchema } from './policy.js';

/**
 * Commands on a problem stream, as zod schemas so the HTTP layer and workflow activities validate the
 * same shape the decider expects. Deadlines are written as a date (end of that day in the policy's time
 * zone) or a date-time; the decider resolves them. Reasons are checked by the decider so that a missing
 * reason gets its precise rule.
 */
const deadlineInput = z.string().min(1).max(40);
const reasonInput = z.string().max(2000);
const base = { problemId: idSchema };

export const problemCommandSchemas = {
  findProblem: z.strictObject({
    type: z.literal('findProblem'),
    ...base,
    targetUnitId: idSchema,
    responsibleUnitId: idSchema,
    category: problemCategorySchema,
    source: problemSourceSchema,
    description: textSchema,
    severity: severitySchema,
    deadline: deadlineInput,
    /**
     * When it was found, for a problem recorded later (an office's existing list, imported): a date (its
     * start) or a date-time, not after now. The deadline must be after it; one already past arrives red.
     */
    foundAt: deadlineInput.optional(),
    /** Omitted: the current DEFAULT_POLICY is frozen into the problem. */
    policy: escalationPolicySchema.optional(),
  }),
  acknowledgeProblem: z.strictObject({ type: z.literal('acknowledgeProblem'), ...base }),
  assignMeasure: z.strictObject({
    type: z.literal('assignMeasure'),
    ...base,
    measureId: idSchema,
    description: textSchema,
    assigneeUnitId: idSchema,
    deadline: deadlineInput,
  }),
  completeMeasure: z.strictObject({
    type: z.literal('completeMeasure'),
    ...base,
    measureId: idSchema,
    evidence: evidenceListSchema,
  }),
  submitRectification: z.strictObject({
    type: z.literal('submitRectification'),
    ...base,
    summary: textSchema,
    evidence: evidenceListSchema,
  }),
  rejectRectification: z.strictObject({ type: z.literal('rejectRectification'), ...base, reason: reasonInput }),
  clearProblem: z.strictObject({ type: z.literal('clearProblem'), ...base }),
  reopenProblem: z.strictObject({
    type: z.literal('reopenProblem'),
    ...base,
    reason: reasonInput,
    deadline: deadlineInput,
  }),
  extendDeadline: z.strictObject({
    type: z.literal('extendDeadline'),
    ...base,
    deadline: deadlineInput,
    reason: reasonInput,
  }),

  // The clock's steps. Each names what its moment was computed from (the window's start, the deadline,
  // the level, the submission), so the decider can tell on the stream as it is now whether it is still due.
  remindToAcknowledge: z.strictObject({ type: z.literal('remindToAcknowledge'), ...base, since: isoTime }),
  remindDeadline: z.strictObject({ type: z.literal('remindDeadline'), ...base, deadline: isoTime, offset: isoDurationSchema }),
  escalate: z.strictObject({
    type: z.literal('escalate'),
    ...base,
    deadline: isoTime,
    level: z.number().int().min(1).max(10),
  }),
  remindOverdue: z.strictObject({
    type: z.literal('remindOverdue'),
    ...base,
    deadline: isoTime,
    level: z.number().int().min(0).max(10),
  }),
  remindMeasure: z.strictObject({
    type: z.literal('remindMeasure'),
    ...base,
    measureId: idSchema,
    phase: z.enum(['approaching', 'overdue']),
  }),
  escalateVerification: z.strictObject({ type: z.literal('escalateVerification'), ...base, submittedAt: isoTime }),
} as const;

export const problemCommandSchema = z.discriminatedUnion('type', [
  problemCommandSchemas.findProblem,
  problemCommandSchemas.acknowledgeProblem,
  problemCommandSchemas.assignMeasure,
  problemCommandSchemas.completeMeasure,
  problemCommandSchemas.submitRectification,
  problemCommandSchemas.rejectRectification,
  problemCommandSchemas.clearProblem,
  problemCommandSchemas.reopenProblem,
  problemCommandSchemas.extendDeadline,
  problemCommandSchemas.remindToAcknowledge,
  problemCommandSchemas.remindDeadline,
  problemCommandSchemas.escalate,
  problemCommandSchemas.remindOverdue,
  problemCommandSchemas.remindMeasure,
  problemCommandSchemas.escalateVerification,
]);

export type ProblemCommand = z.infer<typeof problemCommandSchema>;
export type ProblemCommandOf<T extends ProblemCommand['type']> = Extract<ProblemCommand, { type: T }>;

/** The commands only the clock sends. */
export const stepCommandTypes = [
  'remindToAcknowledge',
  'remindDeadline',
  'escalate',
  'remindOverdue',
  'remindMeasure',
  'escalateVerification',
] as const satisfies readonly ProblemCommand['type'][];
export type StepCommand = ProblemCommandOf<(typeof stepCommandTypes)[number]>;
