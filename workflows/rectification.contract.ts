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

/** The clock: next action and when, escalation level, colour (null before the ProblemFound arrived). */
export const clockQuery = defineQuery<ClockView | null>('clock');

export interface RectificationInput {
  problemId: string;
  /** Set by continue-as-new: the clock and the events not yet applied. */
  carried?: { state: ClockState; inbox: ClockEvent[]; seen: string[] };
}

export interface RectificationResult {
  problemId: string;
  status: 'cleared' | 'unknown';
  level: number;
}
