import { z } from 'zod';
import {
  actorRefSchema,
  evidenceListSchema,
  idSchema,
  isoTime,
  reasonSchema,
  textSchema,
} from '../common.js';
import { escalationPolicySchema, severitySchema } from './policy.js';

export { severitySchema };

export const problemStreamId = (problemId: string) => `problem-${problemId}`;

export const problemCategorySchema = z.enum([
  'income',
  'food_clothing',
  'education',
  'medical',
  'housing',
  'water',
  'industry',
  'employment',
  'relocation',
  'funds',
  'work_style',
  'other',
]);
export type ProblemCategory = z.infer<typeof problemCategorySchema>;

/** Where the finding came from: inspection (巡查/督查), audit, self-check (自查) or look-back (回头看). */
export const problemSourceSchema = z.enum(['inspection', 'audit', 'self_check', 'look_back']);
export type ProblemSource = z.infer<typeof problemSourceSchema>;

/** 红黄蓝 three-colour warning; `none` when nothing is wrong on the clock. */
export const warningColourSchema = z.enum(['none', 'blue', 'yellow', 'red']);
export type WarningColour = z.infer<typeof warningColourSchema>;

/** Colours an escalation notice may carry. */
export const escalationColourSchema = z.enum(['blue', 'yellow', 'red']);

export const problemFoundSchema = z.strictObject({
  problemId: idSchema,
  targetUnitId: idSchema,
  responsibleUnitId: idSchema,
  category: problemCategorySchema,
  source: problemSourceSchema,
  description: textSchema,
  severity: severitySchema,
  deadline: isoTime,
  policy: escalationPolicySchema,
  /**
   * When the problem was found, for one recorded later than that (an office's existing list, imported).
   * Absent: it was found when it was recorded (the event's occurredAt).
   */
  foundAt: isoTime.optional(),
});

/** Version 1 of ProblemFound, before `source` and the frozen `policy` existed. Read through an upcaster. */
export const problemFoundV1Schema = z.strictObject({
  problemId: idSchema,
  targetUnitId: idSchema,
  responsibleUnitId: idSchema,
  category: problemCategorySchema,
  description: textSchema,
  severity: severitySchema,
  deadline: isoTime,
});

export const problemAcknowledgedSchema = z.strictObject({
  /** The unit that signed for the problem (签收). */
  acknowledgedBy: actorRefSchema,
});

export const measureAssignedSchema = z.strictObject({
  measureId: idSchema,
  description: textSchema,
  assigneeUnitId: idSchema,
  deadline: isoTime,
});

export const measureCompletedSchema = z.strictObject({
  measureId: idSchema,
  evidence: evidenceListSchema,
});

export const rectificationSubmittedSchema = z.strictObject({
  summary: textSchema,
  evidence: evidenceListSchema,
  submittedBy: actorRefSchema,
  /** When it was submitted: the responsible unit's clock stops here. Absent in submissions stored before it was. */
  submittedAt: isoTime.optional(),
});

export const rectificationRejectedSchema = z.strictObject({
  reason: reasonSchema,
  rejectedBy: actorRefSchema,
});

export const problemClearedSchema = z.strictObject({
  verifiedBy: actorRefSchema,
  clearedAt: isoTime,
});

export const problemReopenedSchema = z.strictObject({
  reason: reasonSchema,
  deadline: isoTime,
  reopenedBy: actorRefSchema,
});

export const deadlineExtendedSchema = z.strictObject({
  deadline: isoTime,
  previousDeadline: isoTime,
  reason: reasonSchema,
  approvedBy: actorRefSchema,
});

/**
 * acknowledge: not yet signed for; deadline_approaching: blue; overdue: past the deadline; verification:
 * the verifier's window lapsed.
 */
export const reminderKindSchema = z.enum(['acknowledge', 'deadline_approaching', 'overdue', 'verification']);
export type ReminderKind = z.infer<typeof reminderKindSchema>;

export const reminderIssuedSchema = z.strictObject({
  kind: reminderKindSchema,
  /** The escalation level at which the reminder went out (0 = the responsible unit itself). */
  level: z.number().int().min(0).max(10),
  recipients: z.array(idSchema).min(1).max(50),
});

/** Whose wait an escalation is about: the responsible unit's rectification, or the verifier's verification. */
export const escalationStageSchema = z.enum(['rectification', 'verification']);
export type EscalationStage = z.infer<typeof escalationStageSchema>;

export const problemEscalatedSchema = z.strictObject({
  /** 1 = the parent (of the responsible unit, or of the verifier), 2 = the next level up, ... */
  level: z.number().int().min(1).max(10),
  toUnitId: idSchema,
  reason: reasonSchema,
  colour: escalationColourSchema,
  /** Absent: `rectification` (every escalation stored before verification had a clock of its own). */
  stage: escalationStageSchema.optional(),
});

export const warningColourChangedSchema = z.strictObject({
  colour: warningColourSchema,
  reason: reasonSchema,
});

type Ev<T extends string, S extends z.ZodType> = { type: T; data: z.infer<S> };
export type ProblemFound = Ev<'ProblemFound', typeof problemFoundSchema>;
export type ProblemAcknowledged = Ev<'ProblemAcknowledged', typeof problemAcknowledgedSchema>;
export type MeasureAssigned = Ev<'MeasureAssigned', typeof measureAssignedSchema>;
export type MeasureCompleted = Ev<'MeasureCompleted', typeof measureCompletedSchema>;
export type RectificationSubmitted = Ev<'RectificationSubmitted', typeof rectificationSubmittedSchema>;
export type RectificationRejected = Ev<'RectificationRejected', typeof rectificationRejectedSchema>;
export type ProblemCleared = Ev<'ProblemCleared', typeof problemClearedSchema>;
export type ProblemReopened = Ev<'ProblemReopened', typeof problemReopenedSchema>;
export type DeadlineExtended = Ev<'DeadlineExtended', typeof deadlineExtendedSchema>;
export type ReminderIssued = Ev<'ReminderIssued', typeof reminderIssuedSchema>;
export type ProblemEscalated = Ev<'ProblemEscalated', typeof problemEscalatedSchema>;
export type WarningColourChanged = Ev<'WarningColourChanged', typeof warningColourChangedSchema>;

export type ProblemEvent =
  | ProblemFound
  | ProblemAcknowledged
  | MeasureAssigned
  | MeasureCompleted
  | RectificationSubmitted
  | RectificationRejected
  | ProblemCleared
  | ProblemReopened
  | DeadlineExtended
  | ReminderIssued
  | ProblemEscalated
  | WarningColourChanged;

export const problemEventSchemas = {
  ProblemFound: problemFoundSchema,
  ProblemAcknowledged: problemAcknowledgedSchema,
  MeasureAssigned: measureAssignedSchema,
  MeasureCompleted: measureCompletedSchema,
  RectificationSubmitted: rectificationSubmittedSchema,
  RectificationRejected: rectificationRejectedSchema,
  ProblemCleared: problemClearedSchema,
  ProblemReopened: problemReopenedSchema,
  DeadlineExtended: deadlineExtendedSchema,
  ReminderIssued: reminderIssuedSchema,
  ProblemEscalated: problemEscalatedSchema,
  WarningColourChanged: warningColourChangedSchema,
} as const;
