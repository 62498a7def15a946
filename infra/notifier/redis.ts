import type { Redis } from 'ioredis';
import type { Notification, Notifier } from '../../services/ports/notifier.js';

export const defaultNotificationChannel = 'duban:notifications';

/**
 * Publishes each notification as JSON on a Redis pub/sub channel. Pub/sub keeps nothing for absent
 * subscribers; that is acceptable because the event itself is the record and this is only the nudge.
 */
export function createRedisNotifier(deps: { redis: Redis; channel?: string }): Notifier {
  const channel = deps.channel ?? defaultNotificationChannel;
  return {
    async notify(notification: Notification) {
      await deps.redis.publish(channel, JSON.stringify(notification));
    },
  };
}
