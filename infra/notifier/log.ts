import type { Logger } from 'pino';
import type { Notification, Notifier } from '../../services/ports/notifier.js';

/** Writes each notification to the log: the default when nothing else is configured, and handy in dev. */
export function createLogNotifier(deps: { logger: Logger }): Notifier {
  return {
    async notify(notification: Notification) {
      // Recipients are unit ids, not people, so nothing personal reaches the log.
      deps.logger.info(
        {
          eventId: notification.eventId,
          kind: notification.kind,
          recipients: notification.recipients,
          problemId: notification.problemId,
          level: notification.level,
          colour: notification.colour,
        },
        notification.summary,
      );
    },
  };
}
