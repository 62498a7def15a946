import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';

import { createTokenVerifier, signToken } from '../../../services/auth/tokens.js';
import { buildApp } from '../../../services/http/app.js';
import { errorsPlugin } from '../../../services/http/plugins/errors.js';
import { metricsPlugin } from '../../../services/http/plugins/metrics.js';
import { createMetrics } from '../../../services/metrics.js';

const secret = 'metrics-test-secret-with-enough-length-0123';
const scrapeToken = 'scrape-0123456789abcdef';

// The worker's and projector's app: /health and /metrics, nothing else (the API adds the same plugin).
async function roleApp(options: { scrapeToken?: string } = {}): Promise<FastifyInstance> {
  const app = await buildApp({ health: [] });
  await app.register(errorsPlugin);
  await app.register(metricsPlugin, {
    metrics: createMetrics(),
    scrapeToken: options.scrapeToken,
    verifyToken: createTokenVerifier({ algorithm: 'HS256', secret }),
  });
  return app;
}

describe('GET /metrics', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
  });

  test('given METRICS_TOKEN, when a scraper sends it, then the Prometheus text with our metrics', async () => {
    app = await roleApp({ scrapeToken });
    await app.inject({ method: 'GET', url: '/health' });

    const response = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${scrapeToken}` } });

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.body).toMatch(/^duban_http_requests_total\{method="GET",route="\/health",status="200"\} 1$/m);
    expect(response.body).toMatch(/^process_cpu_seconds_total /m);
  });

  test('when the token is wrong or missing, then 401 problem details and a Bearer challenge', async () => {
    app = await roleApp({ scrapeToken });

    for (const headers of [{ authorization: `Bearer ${scrapeToken}x` }, {}]) {
      const response = await app.inject({ method: 'GET', url: '/metrics', headers });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="duban-metrics"');
      expect(response.json()).toMatchObject({ status: 401, type: expect.stringMatching(/unauthenticated$/) });
    }
  });

  test("a user's bearer token is accepted too, with or without METRICS_TOKEN", async () => {
    const user = await signToken(secret, { userId: 'inspector@533400', unitId: '533400', role: 'inspector' });
    for (const options of [{}, { scrapeToken }]) {
      app = await roleApp(options);
      expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${user}` } })).statusCode).toBe(200);
      await app.close();
    }
    app = undefined;
  });
});

describe('metric names', () => {
  test('follow the Prometheus conventions: snake case, a duban_ prefix, _total on counters, base units', async () => {
    const metrics = createMetrics();
    const ours = (await metrics.registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('duban_'));

    expect(ours.length).toBeGreaterThan(5);
    for (const metric of ours) {
      expect(metric.name).toMatch(/^duban_[a-z][a-z0-9_]*$/);
      expect(metric.help.length, metric.name).toBeGreaterThan(10);
      if (String(metric.type) === 'counter') expect(metric.name).toMatch(/_total$/);
      else expect(metric.name).not.toMatch(/_total$/);
      if (String(metric.type) === 'histogram') expect(metric.name).toMatch(/_seconds$/);
      expect(metric.name).not.toMatch(/_(ms|milliseconds|count)$/);
    }
  });
});
