import { timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import { bearerToken, type VerifyToken } from '../../auth/tokens.js';
import type { Metrics } from '../../metrics.js';

export interface MetricsPluginOptions {
  metrics: Metrics;
  /** METRICS_TOKEN: the scraper's static bearer credential (user tokens expire; a scrape config cannot renew them). */
  scrapeToken?: string | undefined;
  /** A user's bearer token is accepted too. */
  verifyToken: VerifyToken;
}

const sameSecret = (presented: string, expected: string): boolean => {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * Request counts and durations by route pattern (never the raw URL, which holds ids), and GET /metrics for
 * Prometheus: every role serves it (api, worker, projector), to the scrape token or a user's token.
 */
export const metricsPlugin = fp<MetricsPluginOptions>(
  async (app, { metrics, scrapeToken, verifyToken }) => {
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
      metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
      done();
    });

    app.get(
      '/metrics',
      {
        schema: { hide: true },
        // Not the user-token check of the API (auth plugin): this route checks its own credential.
        config: { public: true },
        logLevel: 'warn',
        onRequest: async (request, reply) => {
          try {
            const presented = bearerToken(request.headers.authorization);
            if (scrapeToken !== undefined && sameSecret(presented, scrapeToken)) return;
            await verifyToken(presented);
          } catch (err) {
            void reply.header('WWW-Authenticate', 'Bearer realm="duban-metrics"');
            throw err;
          }
        },
      },
      async (_request, reply) => {
        const body = await metrics.registry.metrics();
        return reply.type(metrics.registry.contentType).send(body);
      },
    );
  },
  { name: 'duban-metrics', fastify: '5.x' },
);
