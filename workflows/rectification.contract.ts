import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ClockEvent, ClockState, ClockView } from './clock.js';

/**
 * How other code talks to a rectification workflow: its id, its signal and query, its name. Kept apart
 * from the workflow body so clients (the reactor, the HTTP API) import no workflow code.
 */

export const rectificationWorkflowType = 'rectificationWorkflow';

/** One rectification workflow per problem; this id is how the reactor and everyone else find it. */
export const rectificationWorkflowId = (problemId: string) => `rectification-${problemId}`;

/** Every clock-moving event of the problem, forwarded by the reactor (at least once, in stream order). */
export const problemEventSignal = defineSignal<[ClockEvent]>('problemEvent');

/**
 * Several of the problem's events in one signal, in stream order: what the reactor sends (one
 * signal-with-start for every event of the problem that queued up while the previous one was in flight).
 * A handler emits no command, so runs recorded before it replay the same; a worker must know it before a
 * reactor sends it (both run in one `npm start` process).
 */
export const problemEventsSignal = defineSignal<[ClockEvent[]]>('problemEvents');

/** The clock: next action and when, escalation level, colour (null before the ProblemFound arrived). */
export const clockQuery = defineQuery<ClockView | null>('clock');

export interface RectificationInput {
  problemId: string;
  /**
   * Set by a start that carries no signal (the reactor's start of a clock by its ProblemFound): the first
   * workflow task loads the clock from the stream with a local activity, sets the first timer and completes.
   * Absent (a signal-with-start, runs recorded before it): the ordinary `loadClock` activity.
   */
  loadInFirstTask?: boolean;
  /** Set by continue-as-new: the clock and the events not yet applied. */
  carried?: { state: ClockState; inbox: ClockEvent[]; seen: string[] };
}

export interface RectificationResult {
  problemId: string;
  status: 'cleared' | 'unknown';
  level: number;
}
