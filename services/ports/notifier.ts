/**
 * Where reminders, escalation notices and review digests go once they are on record. The event is
 * always appended first; a notification is a best-effort copy for people, delivered at least once,
 * so it carries the event id for receivers to drop duplicates.
 */
export interface Notification {
  /** Id of the event this notification announces (ReminderIssued, ProblemEscalated, a review). */
  eventId: string;
  kind: 'reminder' | 'escalation' | 'monthly_review' | 'daily_report';
  /** Units whose supervisors or cadres should read it. */
  recipients: readonly string[];
  problemId?: string;
  level?: string;
  colour?: 'blue' | 'yellow' | 'red';
  /** Human-readable one-liner (Chinese text passes through unchanged). */
  summary: string;
  occurredAt: string;
  details?: Record<string, unknown>;
}

export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

/**
 * A receiver said no in a way that retrying cannot fix (an HTTP 4xx, a malformed address). Anything
 * else a notifier throws is taken as transient and retried with backoff by the caller.
 */
export class NotificationRejectedError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'NotificationRejectedError';
  }
}
