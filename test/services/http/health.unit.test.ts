import { afterEach, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';

import { buildApp, type CheckResult, type HealthCheck } from '../../../services/http/app.js';

const answers: HealthCheck = { name: 'event-store', check: async () => {} };
const refuses: HealthCheck = {
  name: 'redis',
  check: async () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:6379\n    at internal stack line');
  },
};
const hangs: HealthCheck = { name: 'temporal', check: () => new Promise<void>(() => {}) };

describe('GET /health', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
  });

  test('given every dependency answers, then 200 with each one up and its latency', async () => {
    app = await buildApp({ health: [answers, { name: 'temporal', check: async () => {} }] });

    const response = await app.inject({ method: 'GET', url: '/health' });

    expect(response.statusCode).toBe(200);
    const body = response.json<{ status: string; checks: CheckResult[] }>();
    expect(body.status).toBe('up');
    expect(body.checks.map((c) => [c.name, c.status])).toEqual([
      ['event-store', 'up'],
      ['temporal', 'up'],
    ]);
    for (const check of body.checks) expect(check.latency_ms).toBeGreaterThanOrEqual(0);
  });

  test('given one dependency refuses and one hangs, then 503 naming both, with the first line of the error only', async () => {
    app = await buildApp({ health: [answers, refuses, hangs], healthTimeoutMs: 200 });

    const response = await app.inject({ method: 'GET', url: '/health' });

    expect(response.statusCode).toBe(503);
    const body = response.json<{ status: string; checks: CheckResult[] }>();
    expect(body.status).toBe('down');
    expect(body.checks).toEqual([
      { name: 'event-store', status: 'up', latency_ms: expect.any(Number) },
      { name: 'redis', status: 'down', latency_ms: expect.any(Number), error: 'connect ECONNREFUSED 127.0.0.1:6379' },
      { name: 'temporal', status: 'down', latency_ms: expect.any(Number), error: 'no answer within 200 ms' },
    ]);
    expect(body.checks[2]?.latency_ms).toBeGreaterThanOrEqual(190);
  });

  test('given a correlation id on the request, then the app keeps it as the request id', async () => {
    app = await buildApp({ health: [] });
    app.get('/echo-id', async (request) => ({ id: request.id }));

    const response = await app.inject({ method: 'GET', url: '/echo-id', headers: { 'x-correlation-id': 'abc-123' } });

    expect(response.json()).toEqual({ id: 'abc-123' });
  });
});
