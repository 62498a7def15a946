import fp from 'fastify-plugin';
import type { Metrics } from '../../metrics.js';

export interface MetricsPluginOptions {
  metrics: Metrics;
}

/** Request counts and durations by route pattern (never the raw URL, which holds ids), and /metrics. */
export const metricsPlugin = fp<MetricsPluginOptions>(
  async (app, { metrics }) => {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
      metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    });
  },
  { name: 'duban-metrics', fastify: '5.x' },
);
