import { NotificationRejectedError, type Notification, type Notifier } from '../../services/ports/notifier.js';

export interface WebhookNotifierOptions {
  url: string;
  /** Sent as `Authorization: Bearer …` when set. */
  token?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * POSTs each notification as JSON. Retrying is left to the caller (a Temporal activity with backoff):
 * a 4xx means the receiver refuses this request as it is, so it becomes NotificationRejectedError and
 * is not retried; network errors, timeouts, 5xx and 429 are thrown as ordinary errors and retried.
 */
export function createWebhookNotifier(options: WebhookNotifierOptions): Notifier {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async notify(notification: Notification) {
      const headers: Record<string, string> = {
        'content-type': 'application/json; charset=utf-8',
        // Receivers drop repeats by this key: delivery is at least once.
        'idempotency-key': notification.eventId,
      };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const response = await doFetch(options.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(notification),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Drain the body so the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        throw new NotificationRejectedError(`webhook refused the notification with ${response.status}`, response.status);
      }
      throw new Error(`webhook answered ${response.status}`);
    },
  };
}
