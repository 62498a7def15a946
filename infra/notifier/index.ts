import { Redis } from 'ioredis';
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
  REDIS_URL?: string;
  NOTIFY_REDIS_CHANNEL?: string;
  NOTIFY_WEBHOOK_URL?: string;
  NOTIFY_WEBHOOK_TOKEN?: string;
}

/**
 * Builds the notifier from configuration (environment variables of the same names). Returns `close`
 * for the connections it opened.
 */
export function notifierFromConfig(
  config: NotifierConfig,
  deps: { logger: Logger },
): { notifier: Notifier; close(): Promise<void> } {
  const kinds = (config.NOTIFIERS ?? 'log')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const notifiers: Notifier[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  for (const kind of kinds) {
    if (kind === 'log') notifiers.push(createLogNotifier(deps));
    else if (kind === 'redis') {
      if (!config.REDIS_URL) throw new Error('NOTIFIERS includes redis but REDIS_URL is not set');
      const redis = new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 3 });
      closers.push(() => redis.quit());
      notifiers.push(createRedisNotifier({ redis, channel: config.NOTIFY_REDIS_CHANNEL ?? defaultNotificationChannel }));
    } else if (kind === 'webhook') {
      if (!config.NOTIFY_WEBHOOK_URL) throw new Error('NOTIFIERS includes webhook but NOTIFY_WEBHOOK_URL is not set');
      notifiers.push(createWebhookNotifier({ url: config.NOTIFY_WEBHOOK_URL, token: config.NOTIFY_WEBHOOK_TOKEN }));
    } else throw new Error(`unknown notifier '${kind}' (expected log, redis or webhook)`);
  }
  const notifier = notifiers.length === 1 && notifiers[0] ? notifiers[0] : fanOut(notifiers);
  return {
    notifier,
    async close() {
      await Promise.allSettled(closers.map((c) => c()));
    },
  };
}
