/**
 * The workflow-engine port: what the application asks of the engine that keeps each problem's clock and
 * runs the review schedules (Temporal, in infra/temporal/workflow-engine.ts). Nothing here names the
 * vendor; the adapter knows the workflow types, ids, signals and task queue.
 */

/** A problem event as a rectification clock receives it: data decoded and upcast to the current schema. */
export interface ClockDelivery {
  eventId: string;
  /** Revision in the problem's stream: the clock ignores anything at or below what it has seen. */
  revision: number;
  type: string;
  data: unknown;
  occurredAt: string;
  correlationId?: string;
}

/** When a review (一月一研判) or report (每日一报) is compiled: a calendar in a time zone. */
export interface ReviewSchedule {
  scheduleId: string;
  kind: 'monthly_review' | 'daily_report';
  /** Local wall clock in `timeZone`; `dayOfMonth` only for a monthly review. */
  calendar: { dayOfMonth?: number; hour: number; minute: number };
  timeZone: string;
  description: string;
}

export interface WorkflowEngine {
  /** Problem event types that move a clock; every other event is of no interest to the engine. */
  readonly clockEventTypes: readonly string[];
  /**
   * Delivers events of one problem, in stream order, to its clock in one go, starting the clock if it is
   * not running. At least once: the clock drops what it has already seen. Throws when the engine did not
   * accept them (then none or all of them were accepted).
   */
  deliverToClock(problemId: string, events: readonly ClockDelivery[]): Promise<void>;
  /**
   * Resolves once the engine has room for more deliveries: at once, unless the clocks' workers are behind
   * what it has already taken. The reactor waits on it before each delivery, so a flood of new events waits
   * in the event store, after the checkpoint, instead of in the engine in front of the clocks that fall due.
   * An engine that never falls behind has none. Resolves at once when `stop` is aborted.
   */
  room?(stop: AbortSignal): Promise<void>;
  /** Creates the schedule, or brings an existing one with the same id up to date. */
  upsertReviewSchedule(schedule: ReviewSchedule): Promise<'created' | 'updated'>;
}
