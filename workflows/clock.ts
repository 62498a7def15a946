import type { EscalationPolicy, PolicyTimings, Severity } from '../events/problem/policy.js';
import type { WarningColour } from '../events/problem/events.js';
import { addDuration, subtractDuration, toEpochMs } from '../events/time.js';

/**
 * The rectification clock of one problem as pure data and pure functions, shared by the workflow (fed
 * by signals) and by the activity that rebuilds it from the problem's stream. No I/O, no clock, no
 * randomness: `now` is always an argument, so workflow replay sees the same answers.
 */

/** A problem event as the clock sees it (what the reactor forwards, or what the stream holds). */
export interface ClockEvent {
  eventId: string;
  /** Revision in the problem's stream: events arrive in this order, and older ones are ignored. */
  revision: number;
  type: string;
  data: unknown;
  occurredAt: string;
  /** Set on events the clock itself wrote (`clock:<anchor>/<step>`), so a rebuild knows what was done. */
  causationId?: string;
  /** The request the event belongs to; optional because signals recorded before it was forwarded lack it. */
  correlationId?: string;
}

/** The event types that move the clock; everything else in a problem stream is ignored by it. */
export const clockEventTypes = [
  'ProblemFound',
  'ProblemAcknowledged',
  'MeasureAssigned',
  'MeasureCompleted',
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

export interface ClockState {
  problemId: string;
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
  /** Highest stream revision applied. */
  revision: number;
}

export type StepKind = 'acknowledge_reminder' | 'blue_reminder' | 'escalation' | 'overdue_reminder' | 'measure_reminder';

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
}

/** What an escalation step found when it ran: where it went and whether that is the top. */
export interface StepOutcome {
  /** False when nothing was written (already at the top, or the item was closed meanwhile). */
  recorded: boolean;
  toUnitId?: string;
  atTop?: boolean;
}

export const MAX_LATENESS_KEPT = 20;

const colourRank: Record<WarningColour, number> = { none: 0, blue: 1, yellow: 2, red: 3 };
const raise = (current: WarningColour, to: WarningColour): WarningColour | undefined =>
  colourRank[to] > colourRank[current] ? to : undefined;

const ms = toEpochMs;

/** The timings that apply to a severity (the policy's defaults with its override for that severity). */
export function timingsOf(state: Pick<ClockState, 'policy' | 'severity'>): PolicyTimings {
  const { policy, severity } = state;
  const override = policy.severityOverrides[severity] ?? {};
  return {
    acknowledgeWithin: override.acknowledgeWithin ?? policy.acknowledgeWithin,
    reminderOffsets: override.reminderOffsets ?? policy.reminderOffsets,
    escalationInterval: override.escalationInterval ?? policy.escalationInterval,
    repeatReminderEvery: override.repeatReminderEvery ?? policy.repeatReminderEvery,
  };
}

/** Blue reminder times before a deadline, earliest first. */
export function blueTimes(state: Pick<ClockState, 'policy' | 'severity' | 'deadline'>): string[] {
  const tz = state.policy.timeZone;
  return timingsOf(state)
    .reminderOffsets.map((offset) => subtractDuration(state.deadline, offset, tz))
    .sort((a, b) => ms(a) - ms(b));
}

/** Time of the escalation to `level` (1 at the deadline, then one policy interval per level). */
export function escalationTime(state: Pick<ClockState, 'policy' | 'severity' | 'deadline'>, level: number): string {
  let at = state.deadline;
  const { escalationInterval } = timingsOf(state);
  for (let i = 1; i < level; i++) at = addDuration(at, escalationInterval, state.policy.timeZone);
  return at;
}

function startCycle(state: ClockState, cycle: ClockEvent, deadline: string): ClockState {
  const startedAt = cycle.occurredAt;
  const next: ClockState = { ...state, cycleId: cycle.eventId, cycleStartedAt: startedAt, deadline, level: 0, atTop: false, repeats: 0 };
  // Set only when known, so states rebuilt from signals recorded before it existed stay as they were.
  delete next.cycleCorrelationId;
  if (cycle.correlationId !== undefined) next.cycleCorrelationId = cycle.correlationId;
  next.currentUnitId = state.responsibleUnitId;
  // Reminders whose moment had passed when the clock (re)started are not sent late.
  next.blueDone = blueTimes(next).filter((t) => ms(t) < ms(startedAt)).length;
  return next;
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

// Event data is validated by the decider before it is stored; the clock reads only the fields it uses.
type Data = Record<string, unknown>;
const str = (data: unknown, key: string): string => String((data as Data)[key]);

/**
 * Applies one problem event. Events at or below the applied revision are ignored, so delivering an
 * event twice changes nothing. Returns undefined while no ProblemFound has been seen.
 */
export function applyEvent(state: ClockState | undefined, event: ClockEvent): ClockState | undefined {
  if (state && event.revision <= state.revision) return state;
  if (event.type === 'ProblemFound') {
    const d = event.data as Data;
    const found: ClockState = {
      problemId: str(d, 'problemId'),
      responsibleUnitId: str(d, 'responsibleUnitId'),
      severity: d.severity as Severity,
      policy: d.policy as EscalationPolicy,
      status: 'open',
      acknowledged: false,
      ackAnchor: event.eventId,
      ackFrom: event.occurredAt,
      ackReminderDone: false,
      deadline: str(d, 'deadline'),
      cycleId: event.eventId,
      cycleStartedAt: event.occurredAt,
      blueDone: 0,
      level: 0,
      currentUnitId: str(d, 'responsibleUnitId'),
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
  const d = event.data as Data;
  switch (event.type) {
    case 'ProblemAcknowledged':
      return { ...s, acknowledged: true };
    case 'MeasureAssigned':
      return {
        ...s,
        measures: [
          ...s.measures.filter((m) => m.measureId !== str(d, 'measureId')),
          {
            measureId: str(d, 'measureId'),
            anchor: event.eventId,
            assigneeUnitId: str(d, 'assigneeUnitId'),
            deadline: str(d, 'deadline'),
            assignedAt: event.occurredAt,
            approachingDone: false,
            overdueDone: false,
          },
        ],
      };
    case 'MeasureCompleted':
      return { ...s, measures: s.measures.filter((m) => m.measureId !== str(d, 'measureId')) };
    case 'DeadlineExtended':
    case 'ProblemReopened': {
      // A cleared item's lateness was recorded when it was cleared.
      const lateness =
        event.type === 'DeadlineExtended' ? recordLateness(s, event.occurredAt, 'DeadlineExtended') : s.lateness;
      // A look-back reopening asks the responsible unit to sign for the item again.
      const signAgain =
        event.type === 'ProblemReopened'
          ? { acknowledged: false, ackAnchor: event.eventId, ackFrom: event.occurredAt, ackReminderDone: false }
          : {};
      const restarted = startCycle(
        { ...s, ...signAgain, lateness, status: 'open' },
        event,
        str(d, 'deadline'),
      );
      // The problem's own state drops the colour with a new clock; the steps raise it again as due.
      return { ...restarted, colour: 'none' };
    }
    case 'ProblemCleared':
      return { ...s, status: 'cleared', lateness: recordLateness(s, event.occurredAt, 'ProblemCleared') };
    case 'WarningColourChanged':
      return { ...s, colour: d.colour as WarningColour };
    case 'ReminderIssued':
    case 'ProblemEscalated': {
      const step = parseStepCausation(event.causationId);
      if (!step) return s;
      const outcome: StepOutcome = { recorded: true };
      if (event.type === 'ProblemEscalated') outcome.toUnitId = str(d, 'toUnitId');
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
    if (!outcome.recorded) return { ...state, atTop: true };
    if (level <= state.level) return state;
    return {
      ...state,
      level,
      repeats: 0,
      currentUnitId: outcome.toUnitId ?? state.currentUnitId,
      atTop: outcome.atTop ?? false,
    };
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
};

/** Every step that is pending now, earliest first (ties in a fixed order, so replay agrees). */
export function pendingSteps(state: ClockState): Step[] {
  if (state.status === 'cleared') return [];
  const t = timingsOf(state);
  const tz = state.policy.timeZone;
  const steps: Step[] = [];
  const responsible = [state.responsibleUnitId];

  if (!state.acknowledged && !state.ackReminderDone) {
    const colour = raise(state.colour, 'yellow');
    steps.push({
      kind: 'acknowledge_reminder',
      at: addDuration(state.ackFrom, t.acknowledgeWithin, tz),
      anchor: state.ackAnchor,
      name: 'ack',
      level: 0,
      recipients: responsible,
      ...(colour ? { colour } : {}),
    });
  }

  const blues = blueTimes(state);
  const nextBlue = blues[state.blueDone];
  if (state.level === 0 && nextBlue !== undefined) {
    const colour = raise(state.colour, 'blue');
    steps.push({
      kind: 'blue_reminder',
      at: nextBlue,
      anchor: state.cycleId,
      name: `blue-${state.blueDone}`,
      level: 0,
      recipients: responsible,
      ...(colour ? { colour } : {}),
    });
  }

  const nextEscalationAt = state.atTop ? undefined : escalationTime(state, state.level + 1);
  if (nextEscalationAt !== undefined) {
    const colour = raise(state.colour, 'red');
    steps.push({
      kind: 'escalation',
      at: nextEscalationAt,
      anchor: state.cycleId,
      name: `esc-${state.level + 1}`,
      level: state.level + 1,
      recipients: [],
      ...(colour ? { colour } : {}),
    });
  }

  if (state.level > 0) {
    const n = state.repeats + 1;
    let at = escalationTime(state, state.level);
    for (let i = 0; i < n; i++) at = addDuration(at, t.repeatReminderEvery, tz);
    // Between two escalations a reminder falling on the next escalation gives way to it.
    if (nextEscalationAt === undefined || ms(at) < ms(nextEscalationAt)) {
      steps.push({
        kind: 'overdue_reminder',
        at,
        anchor: state.cycleId,
        name: `repeat-${state.level}-${n}`,
        level: state.level,
        recipients: unique([state.currentUnitId, state.responsibleUnitId]),
      });
    }
  }

  const nearestOffset = [...t.reminderOffsets].sort(
    (a, b) => ms(subtractDuration(state.deadline, b, tz)) - ms(subtractDuration(state.deadline, a, tz)),
  )[0];
  for (const m of state.measures) {
    const approachingAt = nearestOffset ? subtractDuration(m.deadline, nearestOffset, tz) : undefined;
    if (!m.approachingDone && approachingAt !== undefined && ms(approachingAt) >= ms(m.assignedAt)) {
      steps.push(measureStep(m, 'approaching', approachingAt));
    } else if (!m.overdueDone) {
      steps.push(measureStep(m, 'overdue', m.deadline));
    }
  }

  return steps.sort((a, b) => ms(a.at) - ms(b.at) || kindOrder[a.kind] - kindOrder[b.kind]);
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
    next: next ? { action: next.kind, step: next.name, at: next.at, level: next.level } : null,
    lateness: state.lateness,
    revision: state.revision,
  };
}
