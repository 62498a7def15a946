import type { ProblemEvent, WarningColour } from '../events/problem/events.js';
import type { EscalationPolicy, Severity } from '../events/problem/policy.js';
import {
  acknowledgeDueAt,
  deadlineReminders,
  escalationDueAt,
  measureReminderDueAt,
  overdueReminderDueAt,
  overdueRemindersBefore,
  verificationDueAt,
} from '../events/problem/schedule.js';
import { toEpochMs } from '../events/time.js';

/**
 * The rectification clock of one problem as pure data and pure functions, shared by the workflow (fed
 * by signals) and by the activity that rebuilds it from the problem's stream. No I/O, no clock, no
 * randomness: `now` is always an argument, so workflow replay sees the same answers. When a step falls
 * due is the domain's rule (events/problem/schedule.ts); whether it still is when it runs, the decider's.
 * It imports no schemas (zod, the event registry): the workflow sandbox evaluates every module of the
 * bundle again for each workflow it starts or replays, and building schemas was most of that cost.
 */

/** Where a problem event sits in its stream and who caused it: what the clock needs besides type and data. */
interface ClockEventMeta {
  eventId: string;
  /** Revision in the problem's stream: events arrive in this order, and older ones are ignored. */
  revision: number;
  occurredAt: string;
  /** Set on events the clock itself wrote (`clock:<anchor>/<step>`), so a rebuild knows what was done. */
  causationId?: string;
  /** The request the event belongs to; optional because signals recorded before it was forwarded lack it. */
  correlationId?: string;
}

/** A decoded problem event (current schema version) with its place in the stream. */
export type ClockEvent = ClockEventMeta & ProblemEvent;

/** The event types that move the clock; everything else in a problem stream is ignored by it. */
export const clockEventTypes = [
  'ProblemFound',
  'ProblemAcknowledged',
  'MeasureAssigned',
  'MeasureCompleted',
  'RectificationSubmitted',
  'RectificationRejected',
  'DeadlineExtended',
  'ProblemReopened',
  'ProblemCleared',
] as const;

interface OpenMeasure {
  measureId: string;
  /** Id of the MeasureAssigned event: anchors the measure's step ids. */
  anchor: string;
  assigneeUnitId: string;
  deadline: string;
  assignedAt: string;
  approachingDone: boolean;
  overdueDone: boolean;
}

/** Lateness of a clock cycle that an extension or reopening replaced: it stays on record. */
export interface PastLateness {
  cycleId: string;
  deadline: string;
  /** Highest escalation level reached in that cycle. */
  level: number;
  /** How late the cycle ended (negative when it ended before its deadline). */
  overdueMs: number;
  endedBy: 'DeadlineExtended' | 'ProblemCleared';
}

/** A rectification awaiting verification: the responsible unit's clock stands still, the verifier's runs. */
export interface Verification {
  /** Id of the RectificationSubmitted event: anchors the verification step. */
  anchor: string;
  submittedAt: string;
  done: boolean;
}

export interface ClockState {
  problemId: string;
  /** The unit the problem was found in (absent in states carried over before it was kept). */
  targetUnitId?: string;
  responsibleUnitId: string;
  severity: Severity;
  policy: EscalationPolicy;
  status: 'open' | 'cleared';
  acknowledged: boolean;
  /** The event that asked for a signature (ProblemFound, or ProblemReopened: sign again) and when. */
  ackAnchor: string;
  ackFrom: string;
  ackReminderDone: boolean;
  deadline: string;
  /** The event that (re)started the clock: ProblemFound, DeadlineExtended or ProblemReopened. */
  cycleId: string;
  /** That event's correlation id, carried into what the clock's steps record (absent in old histories). */
  cycleCorrelationId?: string;
  cycleStartedAt: string;
  /** Blue reminders of this cycle already issued or skipped, in time order. */
  blueDone: number;
  /** Escalation level reached in this cycle (0: not escalated). */
  level: number;
  /** Unit the item is escalated to now (the responsible unit before any escalation). */
  currentUnitId: string;
  /** No level above the current one within the policy: only repeated reminders remain. */
  atTop: boolean;
  /** Reminders repeated at the current level. */
  repeats: number;
  colour: WarningColour;
  measures: OpenMeasure[];
  lateness: PastLateness[];
  /** The submission awaiting verification (absent in states carried over before verification had a clock). */
  verification?: Verification | null;
  /** No step runs earlier than this (set by a rejection: steps that fell due meanwhile run then, at once). */
  notBefore?: string;
  /** Highest stream revision applied. */
  revision: number;
}

export type StepKind =
  | 'acknowledge_reminder'
  | 'blue_reminder'
  | 'escalation'
  | 'overdue_reminder'
  | 'measure_reminder'
  | 'verification_escalation';

/** One thing the clock will do, and when. `anchor`/`name` make its deterministic id. */
export interface Step {
  kind: StepKind;
  at: string;
  anchor: string;
  name: string;
  /** Escalation: the level to reach. Reminders: the level they go out at. */
  level: number;
  recipients: string[];
  /** Colour the item turns as part of this step, when it rises. */
  colour?: WarningColour;
  measureId?: string;
  phase?: 'approaching' | 'overdue';
  /** What the step's moment was computed from, for the decider to check it is still due (absent in old runs). */
  deadline?: string;
  offset?: string;
  since?: string;
  submittedAt?: string;
}

/** What a step found when it ran: where it went and whether that is the top. */
export interface StepOutcome {
  /** False when nothing was written (the step was no longer due). */
  recorded: boolean;
  toUnitId?: string;
  atTop?: boolean;
  /** The rule that found the step no longer due, when it was not. */
  notDue?: string;
}

export const MAX_LATENESS_KEPT = 20;

const colourRank: Record<WarningColour, number> = { none: 0, blue: 1, yellow: 2, red: 3 };
const raise = (current: WarningColour, to: WarningColour): WarningColour | undefined =>
  colourRank[to] > colourRank[current] ? to : undefined;

const ms = toEpochMs;
const later = (a: string, b: string | undefined) => (b !== undefined && ms(b) > ms(a) ? b : a);

/** How many of the times fall before `at`. */
const passedBefore = (times: string[], at: string) => times.filter((t) => ms(t) < ms(at)).length;

function startCycle(state: ClockState, cycle: ClockEvent, deadline: string): ClockState {
  const startedAt = cycle.occurredAt;
  const next: ClockState = { ...state, cycleId: cycle.eventId, cycleStartedAt: startedAt, deadline, level: 0, atTop: false, repeats: 0 };
  // Set only when known, so states rebuilt from signals recorded before it existed stay as they were.
  delete next.cycleCorrelationId;
  if (cycle.correlationId !== undefined) next.cycleCorrelationId = cycle.correlationId;
  next.currentUnitId = state.responsibleUnitId;
  // Reminders whose moment had passed when the clock (re)started are not sent late.
  next.blueDone = passedBefore(blueTimes(next), startedAt);
  // An item recorded after its deadline (an imported list): what fell due runs at once, never back-dated.
  if (startedOverdue(next)) next.notBefore = later(startedAt, state.notBefore);
  return next;
}

/** The cycle began after its deadline: the item was recorded overdue. */
const startedOverdue = (state: ClockState) => ms(state.deadline) <= ms(state.cycleStartedAt);

/** Blue reminder times before the deadline, earliest first. */
const blueTimes = (state: ClockState) => deadlineReminders(state).map((r) => r.at);

/** The clock picks up again after a rejection: reminders that fell due while it stood still are not sent late. */
function resume(state: ClockState, at: string): ClockState {
  let repeats = state.repeats;
  if (state.level > 0 || state.atTop) {
    while (repeats < 10_000 && ms(overdueReminderDueAt(state, state.level, repeats + 1)) < ms(at)) repeats++;
  }
  return {
    ...state,
    verification: null,
    notBefore: at,
    atTop: false,
    repeats,
    blueDone: Math.max(state.blueDone, passedBefore(blueTimes(state), at)),
  };
}

function recordLateness(state: ClockState, at: string, endedBy: PastLateness['endedBy']): PastLateness[] {
  const overdueMs = ms(at) - ms(state.deadline);
  if (overdueMs <= 0 && state.level === 0) return state.lateness;
  const entry: PastLateness = { cycleId: state.cycleId, deadline: state.deadline, level: state.level, overdueMs, endedBy };
  return [...state.lateness, entry].slice(-MAX_LATENESS_KEPT);
}

/** Parses `clock:<anchor>/<name>` causation ids written by clock steps. */
export function parseStepCausation(causationId: string | undefined): { anchor: string; name: string } | undefined {
  if (!causationId?.startsWith('clock:')) return undefined;
  const rest = causationId.slice('clock:'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  return { anchor: rest.slice(0, slash), name: rest.slice(slash + 1) };
}

export const stepCausationId = (step: Pick<Step, 'anchor' | 'name'>) => `clock:${step.anchor}/${step.name}`;

/**
 * Applies one problem event. Events at or below the applied revision are ignored, so delivering an
 * event twice changes nothing. Returns undefined while no ProblemFound has been seen.
 */
export function applyEvent(
  state: ClockState | undefined,
  event: ClockEvent,
  /**
   * `ackFromFoundAt`: an item recorded with the moment it was found (an import's 发现时间) has its acknowledge
   * window run from that moment, not from the recording. Off for runs recorded before the rule (a patch).
   */
  options: { ackFromFoundAt?: boolean } = {},
): ClockState | undefined {
  if (state && event.revision <= state.revision) return state;
  if (event.type === 'ProblemFound') {
    const d = event.data;
    const found: ClockState = {
      problemId: d.problemId,
      targetUnitId: d.targetUnitId,
      responsibleUnitId: d.responsibleUnitId,
      severity: d.severity,
      policy: d.policy,
      status: 'open',
      acknowledged: false,
      ackAnchor: event.eventId,
      ackFrom: options.ackFromFoundAt && d.foundAt !== undefined ? d.foundAt : event.occurredAt,
      ackReminderDone: false,
      deadline: d.deadline,
      cycleId: event.eventId,
      cycleStartedAt: event.occurredAt,
      blueDone: 0,
      level: 0,
      currentUnitId: d.responsibleUnitId,
      atTop: false,
      repeats: 0,
      colour: 'none',
      measures: [],
      lateness: [],
      revision: event.revision,
    };
    return startCycle(found, event, found.deadline);
  }
  if (!state) return undefined;
  const s: ClockState = { ...state, revision: event.revision };
  switch (event.type) {
    case 'ProblemAcknowledged':
      return { ...s, acknowledged: true };
    case 'MeasureAssigned': {
      const { measureId, assigneeUnitId, deadline } = event.data;
      return {
        ...s,
        measures: [
          ...s.measures.filter((m) => m.measureId !== measureId),
          {
            measureId,
            anchor: event.eventId,
            assigneeUnitId,
            deadline,
            assignedAt: event.occurredAt,
            approachingDone: false,
            overdueDone: false,
          },
        ],
      };
    }
    case 'MeasureCompleted':
      return { ...s, measures: s.measures.filter((m) => m.measureId !== event.data.measureId) };
    case 'RectificationSubmitted':
      return { ...s, verification: { anchor: event.eventId, submittedAt: event.occurredAt, done: false } };
    case 'RectificationRejected':
      return resume(s, event.occurredAt);
    case 'DeadlineExtended':
    case 'ProblemReopened': {
      // A cleared item's lateness was recorded when it was cleared.
      const lateness =
        event.type === 'DeadlineExtended' ? recordLateness(s, event.occurredAt, 'DeadlineExtended') : s.lateness;
      // A look-back reopening asks the responsible unit to sign for the item again.
      const signAgain =
        event.type === 'ProblemReopened'
          ? { acknowledged: false, ackAnchor: event.eventId, ackFrom: event.occurredAt, ackReminderDone: false, verification: null }
          : {};
      const restarted = startCycle({ ...s, ...signAgain, lateness, status: 'open' }, event, event.data.deadline);
      // The problem's own state drops the colour with a new clock; the steps raise it again as due.
      return { ...restarted, colour: 'none' };
    }
    case 'ProblemCleared':
      // The responsible unit was late only up to the submission that was cleared, not for the verifier's wait.
      return { ...s, status: 'cleared', lateness: recordLateness(s, s.verification?.submittedAt ?? event.occurredAt, 'ProblemCleared') };
    case 'WarningColourChanged':
      return { ...s, colour: event.data.colour };
    case 'ReminderIssued':
    case 'ProblemEscalated': {
      const step = parseStepCausation(event.causationId);
      if (!step) return s;
      const outcome: StepOutcome = { recorded: true };
      if (event.type === 'ProblemEscalated') outcome.toUnitId = event.data.toUnitId;
      return markStepDone(s, step, outcome);
    }
    default:
      return s;
  }
}

/** Records that a step ran (from the workflow after its activity, or from a stored event on rebuild). */
export function markStepDone(state: ClockState, step: { anchor: string; name: string }, outcome: StepOutcome): ClockState {
  const { anchor, name } = step;
  if (name === 'ack' && anchor === state.ackAnchor) return { ...state, ackReminderDone: true };
  if (name === 'verify' && state.verification?.anchor === anchor) {
    return { ...state, verification: { ...state.verification, done: true } };
  }
  const measure = state.measures.find((m) => m.anchor === anchor);
  if (measure) {
    const updated = { ...measure };
    if (name === 'm-approaching') updated.approachingDone = true;
    if (name === 'm-overdue') updated.overdueDone = true;
    return { ...state, measures: state.measures.map((m) => (m === measure ? updated : m)) };
  }
  if (anchor !== state.cycleId) return state;
  const blue = /^blue-(\d+)$/.exec(name);
  if (blue) return { ...state, blueDone: Math.max(state.blueDone, Number(blue[1]) + 1) };
  const esc = /^esc-(\d+)$/.exec(name);
  if (esc) {
    const level = Number(esc[1]);
    // Nobody was escalated to (above the top, or no longer due): only repeated reminders remain.
    if (!outcome.recorded || outcome.toUnitId === undefined) return { ...state, atTop: true };
    if (level <= state.level) return state;
    // Catching up an item recorded overdue, the reminders of a level that fell due before it was on record are not sent.
    const repeats = startedOverdue(state) ? overdueRemindersBefore(state, level, state.cycleStartedAt) : 0;
    return { ...state, level, repeats, currentUnitId: outcome.toUnitId, atTop: outcome.atTop ?? false };
  }
  const repeat = /^repeat-(\d+)-(\d+)$/.exec(name);
  if (repeat && Number(repeat[1]) === state.level) return { ...state, repeats: Math.max(state.repeats, Number(repeat[2])) };
  return state;
}

/** Applies the colour a step set, if it raised it. */
export function applyStepColour(state: ClockState, step: Step): ClockState {
  return step.colour ? { ...state, colour: step.colour } : state;
}

const kindOrder: Record<StepKind, number> = {
  acknowledge_reminder: 0,
  blue_reminder: 1,
  escalation: 2,
  overdue_reminder: 3,
  measure_reminder: 4,
  verification_escalation: 5,
};

/** Every step that is pending now, earliest first (ties in a fixed order, so replay agrees). */
export function pendingSteps(state: ClockState): Step[] {
  if (state.status === 'cleared') return [];
  const steps: Step[] = [];
  const responsible = [state.responsibleUnitId];
  const { deadline } = state;
  // While a rectification awaits verification the responsible unit's clock stands still.
  const verification = state.verification ?? null;
  const running = verification === null;

  if (!state.acknowledged && !state.ackReminderDone) {
    const colour = raise(state.colour, 'yellow');
    steps.push({
      kind: 'acknowledge_reminder',
      at: acknowledgeDueAt(state, state.ackFrom),
      anchor: state.ackAnchor,
      name: 'ack',
      level: 0,
      recipients: responsible,
      since: state.ackFrom,
      ...(colour ? { colour } : {}),
    });
  }

  const nextBlue = deadlineReminders(state)[state.blueDone];
  if (running && state.level === 0 && nextBlue !== undefined) {
    const colour = raise(state.colour, 'blue');
    steps.push({
      kind: 'blue_reminder',
      at: nextBlue.at,
      anchor: state.cycleId,
      name: `blue-${state.blueDone}`,
      level: 0,
      recipients: responsible,
      deadline,
      offset: nextBlue.offset,
      ...(colour ? { colour } : {}),
    });
  }

  const nextEscalationAt = running && !state.atTop ? escalationDueAt(state, state.level + 1) : undefined;
  if (nextEscalationAt !== undefined) {
    const colour = raise(state.colour, 'red');
    steps.push({
      kind: 'escalation',
      at: nextEscalationAt,
      anchor: state.cycleId,
      name: `esc-${state.level + 1}`,
      level: state.level + 1,
      recipients: [],
      deadline,
      ...(colour ? { colour } : {}),
    });
  }

  if (running && (state.level > 0 || state.atTop)) {
    const n = state.repeats + 1;
    const at = overdueReminderDueAt(state, state.level, n);
    // Between two escalations a reminder falling on the next escalation gives way to it.
    if (nextEscalationAt === undefined || ms(at) < ms(nextEscalationAt)) {
      steps.push({
        kind: 'overdue_reminder',
        at,
        anchor: state.cycleId,
        name: `repeat-${state.level}-${n}`,
        level: state.level,
        recipients: unique([state.currentUnitId, state.responsibleUnitId]),
        deadline,
      });
    }
  }

  for (const m of state.measures) {
    const approachingAt = measureReminderDueAt(state, m.deadline);
    if (!m.approachingDone && approachingAt !== undefined && ms(approachingAt) >= ms(m.assignedAt)) {
      steps.push(measureStep(m, 'approaching', approachingAt));
    } else if (!m.overdueDone) {
      steps.push(measureStep(m, 'overdue', m.deadline));
    }
  }

  if (verification !== null && !verification.done) {
    steps.push({
      kind: 'verification_escalation',
      at: verificationDueAt(state.policy, verification.submittedAt),
      anchor: verification.anchor,
      name: 'verify',
      level: 1,
      recipients: [],
      submittedAt: verification.submittedAt,
    });
  }

  return steps
    .map((step) => ({ ...step, at: later(step.at, state.notBefore) }))
    .sort((a, b) => ms(a.at) - ms(b.at) || kindOrder[a.kind] - kindOrder[b.kind]);
}

function measureStep(m: OpenMeasure, phase: 'approaching' | 'overdue', at: string): Step {
  return {
    kind: 'measure_reminder',
    at,
    anchor: m.anchor,
    name: `m-${phase}`,
    level: 0,
    recipients: [m.assigneeUnitId],
    measureId: m.measureId,
    phase,
  };
}

const unique = (ids: string[]) => [...new Set(ids)];

export const nextStep = (state: ClockState): Step | undefined => pendingSteps(state)[0];

/** What the clock query answers: the state of the clock, not the whole item. */
export interface ClockView {
  problemId: string;
  status: ClockState['status'];
  colour: WarningColour;
  level: number;
  currentUnitId: string;
  deadline: string;
  acknowledged: boolean;
  /** Since when a rectification awaits verification (the responsible unit's clock stands still). */
  awaitingVerificationSince: string | null;
  next: { action: StepKind; step: string; at: string; level: number } | null;
  lateness: PastLateness[];
  revision: number;
}

export function viewOf(state: ClockState): ClockView {
  const next = nextStep(state);
  return {
    problemId: state.problemId,
    status: state.status,
    colour: state.colour,
    level: state.level,
    currentUnitId: state.currentUnitId,
    deadline: state.deadline,
    acknowledged: state.acknowledged,
    awaitingVerificationSince: state.verification?.submittedAt ?? null,
    next: next ? { action: next.kind, step: next.name, at: next.at, level: next.level } : null,
    lateness: state.lateness,
    revision: state.revision,
  };
}
