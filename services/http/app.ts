import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import type { TrustProxy } from '../config.js';
import { apiFastifyOptions } from './api.js';
import { consolePlugin } from './plugins/console.js';

/** One dependency /health reports on: `check` resolves when it answers and rejects (or hangs) when not. */
export interface HealthCheck {
  readonly name: string;
  readonly check: () => Promise<void>;
}

export interface AppDeps {
  /** Checks run in parallel on every GET /health; add one per dependency the service uses. */
  readonly health: readonly HealthCheck[];
  /** The service's pino logger; without one the app logs nothing (tests). */
  readonly logger?: FastifyBaseLogger;
  /** How long one check may take before it counts as down. */
  readonly healthTimeoutMs?: number;
  /** Largest request body in bytes (BODY_LIMIT); larger ones are answered 413. */
  readonly bodyLimit?: number;
  /** The console's build (web/dist) to serve at `/`; without it only the API answers. */
  readonly consoleDir?: string;
  /** Fastify's trustProxy (TRUST_PROXY): whose X-Forwarded-For to believe for the client address. */
  readonly trustProxy?: TrustProxy | undefined;
}

export interface CheckResult {
  name: string;
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
}

/**
 * The HTTP application without routes of its own beyond GET /health; the composition root registers the
 * API and other plugins on it. Request ids are correlation ids (X-Correlation-Id).
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...apiFastifyOptions,
    ...(deps.bodyLimit !== undefined ? { bodyLimit: deps.bodyLimit } : {}),
    ...(deps.trustProxy !== undefined ? { trustProxy: deps.trustProxy } : {}),
  });
  const timeoutMs = deps.healthTimeoutMs ?? 2_000;

  app.get('/health', { logLevel: 'warn' }, async (_request, reply) => {
    const checks = await Promise.all(deps.health.map((c) => runCheck(c, timeoutMs)));
    const up = checks.every((c) => c.status === 'up');
    return reply.code(up ? 200 : 503).send({ status: up ? 'up' : 'down', checks });
  });
  if (deps.consoleDir) await app.register(consolePlugin, { dir: deps.consoleDir });
  return app;
}

async function runCheck(health: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([health.check(), timeout]);
    return { name: health.name, status: 'up', latency_ms: elapsed(started) };
  } catch (error) {
    // The first line only: enough for an operator, without stack traces or payloads.
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 200);
    return { name: health.name, status: 'down', latency_ms: elapsed(started), error: message ?? 'failed' };
  } finally {
    clearTimeout(timer);
  }
}

const elapsed = (started: number): number => Math.round((performance.now() - started) * 10) / 10;
