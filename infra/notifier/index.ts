import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Notifier } from '../../services/ports/notifier.js';
import { createLogNotifier } from './log.js';
import { createRedisNotifier, defaultNotificationChannel } from './redis.js';
import { createWebhookNotifier } from './webhook.js';

export { createLogNotifier, createRedisNotifier, createWebhookNotifier, defaultNotificationChannel };

/**
 * Sends to every configured notifier in turn. A failure in one is thrown after the others had their
 * chance, so a retry repeats all of them: receivers dedupe by event id.
 */
export function fanOut(notifiers: readonly Notifier[]): Notifier {
  return {
    async notify(notification) {
      const results = await Promise.allSettled(notifiers.map((n) => n.notify(notification)));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}

export interface NotifierConfig {
  /** Comma-separated list among `log`, `redis`, `webhook`. Default `log`. */
  NOTIFIERS?: string;
  NOTIFY_REDIS_CHANNEL?: string;
  NOTIFY_WEBHOOK_URL?: string;
  NOTIFY_WEBHOOK_TOKEN?: string;
}

/**
 * Builds the notifier from configuration (environment variables of the same names). The `redis` notifier
 * publishes on the process's one Redis client, built and closed by the composition root.
 */
export function notifierFromConfig(
  config: NotifierConfig,
  deps: { logger: Logger; redis?: Redis | undefined },
): Notifier {
  const kinds = (config.NOTIFIERS ?? 'log')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const notifiers: Notifier[] = [];
  for (const kind of kinds) {
    if (kind === 'log') notifiers.push(createLogNotifier(deps));
    else if (kind === 'redis') {
      if (!deps.redis) throw new Error('NOTIFIERS includes redis but REDIS_URL is not set');
      notifiers.push(createRedisNotifier({ redis: deps.redis, channel: config.NOTIFY_REDIS_CHANNEL ?? defaultNotificationChannel }));
    } else if (kind === 'webhook') {
      if (!config.NOTIFY_WEBHOOK_URL) throw new Error('NOTIFIERS includes webhook but NOTIFY_WEBHOOK_URL is not set');
      notifiers.push(createWebhookNotifier({ url: config.NOTIFY_WEBHOOK_URL, token: config.NOTIFY_WEBHOOK_TOKEN }));
    } else throw new Error(`unknown notifier '${kind}' (expected log, redis or webhook)`);
  }
  return notifiers.length === 1 && notifiers[0] ? notifiers[0] : fanOut(notifiers);
}
