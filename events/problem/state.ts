import { type ActorRef, type Evidence } from '../common.js';
import { assertNever } from '../decider.js';
import { recordWith } from '../records.js';
import { toEpochMs } from '../time.js';
import type {
  ProblemCategory,
  ProblemEvent,
  ProblemSource,
  ReminderKind,
  WarningColour,
} from './events.js';
import type { ResponsibleClock } from './lateness.js';
import type { EscalationPolicy, Severity } from './policy.js';

/**
 * open: found (or reopened), not yet signed for; acknowledged: signed for, work under way (also after a
 * rejected rectification); submitted: rectification awaiting verification; cleared: verified and closed.
 */
export type ProblemStatus = 'open' | 'acknowledged' | 'submitted' | 'cleared';

export interface ProblemMeasure {
  measureId: string;
  description: string;
  assigneeUnitId: string;
  deadline: string;
  completed: boolean;
  evidence: Evidence[];
}

interface Submission {
  summary: string;
  evidence: Evidence[];
  submittedBy: ActorRef;
  /** When it was submitted (null for submissions stored before that was recorded). */
  submittedAt: string | null;
  /** Where the lapsed verification window of this submission was escalated to, if it was. */
  escalatedTo: string | null;
}
export type Rectification =
  | ({ status: 'submitted' } & Submission)
  | ({ status: 'rejected'; rejectionReason: string } & Submission);

/**
 * One finished clock (from finding, extension or reopening until the next extension or the clearing).
 * Kept for ever, so reopening or extending never wipes out how late an item was.
 */
export interface ClockRecord {
  deadline: string;
  endedBy: 'cleared' | 'extended';
  /** Highest escalation level reached on this clock (0 = never escalated). */
  escalationLevel: number;
  /** The warning colour when the clock ended. */
  colour: WarningColour;
  /** Only for clearing: when it was cleared, and how late the responsible unit was (0 when on time). */
  clearedAt: string | null;
  /** Measured up to the submission that was cleared: the verifier's wait is not the responsible unit's. */
  lateByMs: number | null;
  /** Submitted (or cleared) after the deadline, or escalated/red before the clock ended. */
  late: boolean;
}

export interface OpenProblem {
  status: ProblemStatus;
  problemId: string;
  targetUnitId: string;
  responsibleUnitId: string;
  category: ProblemCategory;
  source: ProblemSource;
  description: string;
  severity: Severity;
  policy: EscalationPolicy;
  /** Current deadline (ISO 8601 with offset). */
  deadline: string;
  /** What started the current clock. */
  clockStartedBy: 'found' | 'extended' | 'reopened';
  acknowledged: boolean;
  /** The acknowledge reminder of the current signature went out. */
  ackReminded: boolean;
  colour: WarningColour;
  /** Current escalation level on this clock (0 = not escalated); only goes up within a clock. */
  escalationLevel: number;
  escalatedTo: string | null;
  remindersIssued: number;
  lastReminder: { kind: ReminderKind; level: number; recipients: string[] } | null;
  measures: Record<string, ProblemMeasure>;
  measuresTotal: number;
  measuresDone: number;
  rectification: Rectification | null;
  /** Who submitted the latest rectification (null before any). */
  submittedBy: ActorRef | null;
  clearedBy: ActorRef | null;
  clearedAt: string | null;
  reopenCount: number;
  /** Finished clocks, oldest first: the lateness history. */
  lateness: ClockRecord[];
}

export type ProblemState = { status: 'none' } | OpenProblem;

export const initialProblemState: ProblemState = { status: 'none' };

function closeClock(p: OpenProblem, endedBy: ClockRecord['endedBy'], clearedAt: string | null): ClockRecord {
  const doneAt = p.rectification?.submittedAt ?? clearedAt;
  const lateByMs = clearedAt === null || doneAt === null ? null : Math.max(0, toEpochMs(doneAt) - toEpochMs(p.deadline));
  return {
    deadline: p.deadline,
    endedBy,
    escalationLevel: p.escalationLevel,
    colour: p.colour,
    clearedAt,
    lateByMs,
    late: (lateByMs ?? 0) > 0 || p.escalationLevel > 0 || p.colour === 'red',
  };
}

/** A fresh clock: no colour, no escalation. */
const restartClock = { colour: 'none', escalationLevel: 0, escalatedTo: null } as const;

export function evolveProblem(state: ProblemState, event: ProblemEvent): ProblemState {
  if (event.type === 'ProblemFound') {
    if (state.status !== 'none') return state;
    const { problemId, targetUnitId, responsibleUnitId, category, source, description, severity } = event.data;
    return {
      status: 'open',
      problemId,
      targetUnitId,
      responsibleUnitId,
      category,
      source,
      description,
      severity,
      policy: event.data.policy,
      deadline: event.data.deadline,
      clockStartedBy: 'found',
      acknowledged: false,
      ackReminded: false,
      ...restartClock,
      remindersIssued: 0,
      lastReminder: null,
      measures: {},
      measuresTotal: 0,
      measuresDone: 0,
      rectification: null,
      submittedBy: null,
      clearedBy: null,
      clearedAt: null,
      reopenCount: 0,
      lateness: [],
    };
  }
  // Every other event needs a found problem; stored streams are valid, so this only guards odd input.
  if (state.status === 'none') return state;
  const p = state;
  switch (event.type) {
    case 'ProblemAcknowledged':
      return { ...p, acknowledged: true, status: p.status === 'open' ? 'acknowledged' : p.status };
    case 'MeasureAssigned': {
      const { measureId, description, assigneeUnitId, deadline } = event.data;
      if (p.measures[measureId]) return p;
      return {
        ...p,
        measures: recordWith<ProblemMeasure>(p.measures, measureId, { measureId, description, assigneeUnitId, deadline, completed: false, evidence: [] }),
        measuresTotal: p.measuresTotal + 1,
      };
    }
    case 'MeasureCompleted': {
      const measure = p.measures[event.data.measureId];
      if (!measure || measure.completed) return p;
      return {
        ...p,
        measures: recordWith<ProblemMeasure>(p.measures, measure.measureId, { ...measure, completed: true, evidence: event.data.evidence }),
        measuresDone: p.measuresDone + 1,
      };
    }
    case 'RectificationSubmitted': {
      const { summary, evidence, submittedBy } = event.data;
      const submittedAt = event.data.submittedAt ?? null;
      return {
        ...p,
        status: 'submitted',
        rectification: { status: 'submitted', summary, evidence, submittedBy, submittedAt, escalatedTo: null },
        submittedBy,
      };
    }
    case 'RectificationRejected':
      if (p.rectification === null) return p;
      return {
        ...p,
        status: p.acknowledged ? 'acknowledged' : 'open',
        rectification: { ...p.rectification, status: 'rejected', rejectionReason: event.data.reason },
      };
    case 'ProblemCleared':
      return {
        ...p,
        status: 'cleared',
        clearedBy: event.data.verifiedBy,
        clearedAt: event.data.clearedAt,
        lateness: [...p.lateness, closeClock(p, 'cleared', event.data.clearedAt)],
      };
    case 'ProblemReopened':
      // A look-back found it not genuinely fixed: sign for it again, rectify again, new clock.
      return {
        ...p,
        status: 'open',
        acknowledged: false,
        ackReminded: false,
        deadline: event.data.deadline,
        clockStartedBy: 'reopened',
        ...restartClock,
        rectification: null,
        clearedBy: null,
        clearedAt: null,
        reopenCount: p.reopenCount + 1,
      };
    case 'DeadlineExtended':
      return {
        ...p,
        deadline: event.data.deadline,
        clockStartedBy: 'extended',
        lateness: [...p.lateness, closeClock(p, 'extended', null)],
        ...restartClock,
      };
    case 'ReminderIssued': {
      const { kind, level, recipients } = event.data;
      return {
        ...p,
        remindersIssued: p.remindersIssued + 1,
        lastReminder: { kind, level, recipients },
        ackReminded: p.ackReminded || kind === 'acknowledge',
      };
    }
    case 'ProblemEscalated':
      if (event.data.stage === 'verification') {
        if (p.rectification === null) return p;
        return { ...p, rectification: { ...p.rectification, escalatedTo: event.data.toUnitId } };
      }
      // Escalations stored before red had an event of its own carried the colour alone.
      return {
        ...p,
        escalationLevel: Math.max(p.escalationLevel, event.data.level),
        escalatedTo: event.data.toUnitId,
        colour: event.data.colour,
      };
    case 'WarningColourChanged':
      return { ...p, colour: event.data.colour };
    default:
      return assertNever(event, 'problem event');
  }
}

/** True when every measure is done and a rectification is submitted and not rejected since. */
export const isReadyToClear = (p: OpenProblem) =>
  p.status === 'submitted' && p.measuresDone === p.measuresTotal && p.rectification?.status === 'submitted';

/** The responsible unit's clock, as lateness reads it. */
export const responsibleClockOf = (p: OpenProblem): ResponsibleClock => ({
  open: p.status !== 'cleared',
  deadline: p.deadline,
  stoppedAt: p.status === 'submitted' ? (p.rectification?.submittedAt ?? null) : null,
  timeZone: p.policy.timeZone,
});
