import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { correlationIdOptions, logRedactPaths } from '../../../services/http/plugins/correlation.js';
import { logSerializers } from '../../../services/http/plugins/hardening.js';

/** A fastify instance with the service's logger options, logging into `lines` (one parsed object each). */
async function logged(lines: Record<string, unknown>[]) {
  const logger = pino(
    { level: 'info', redact: logRedactPaths, serializers: logSerializers, base: { role: 'api' } },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  );
  const app = Fastify({ loggerInstance: logger, ...correlationIdOptions });
  app.get('/v1/things/:id', async (request) => {
    request.log.info({ body: { name: 'Wang Fang' }, token: 'handler-secret' }, 'handler line');
    return { ok: true };
  });
  app.get('/quiet', { logLevel: 'warn' }, async () => ({ ok: true }));
  await app.ready();
  return app;
}

describe('the access line', () => {
  let app: Awaited<ReturnType<typeof logged>> | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  test('names the request, status and time, bound to the correlation id, with no header and credentials replaced', async () => {
    const lines: Record<string, unknown>[] = [];
    app = await logged(lines);
    const res = await app.inject({
      url: '/v1/things/7?unitId=533400&access_token=secret-in-url',
      headers: { authorization: 'Bearer secret-in-header', cookie: 'sid=secret-cookie', 'x-correlation-id': 'c-1' },
    });
    expect(res.statusCode).toBe(200);
    const access = lines.filter((l) => l['msg'] === 'request completed');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      level: 30,
      role: 'api',
      correlationId: 'c-1',
      req: { method: 'GET', url: '/v1/things/7?unitId=533400&access_token=%5BREDACTED%5D', host: 'localhost:80', remoteAddress: '127.0.0.1' },
      res: { statusCode: 200 },
    });
    expect(Object.keys(access[0]?.['req'] as object).sort()).toEqual(['host', 'method', 'remoteAddress', 'url']);
    expect(Object.keys(access[0]?.['res'] as object)).toEqual(['statusCode']);
    expect(typeof access[0]?.['responseTime']).toBe('number');
    const all = JSON.stringify(lines);
    for (const secret of ['secret-in-url', 'secret-in-header', 'secret-cookie', 'Wang Fang', 'handler-secret']) expect(all).not.toContain(secret);
    // The handler's own line is still redacted by the service's paths.
    expect(lines.find((l) => l['msg'] === 'handler line')).toMatchObject({ correlationId: 'c-1', body: '[Redacted]', token: '[Redacted]' });
  });

  test('follows the route log level', async () => {
    const lines: Record<string, unknown>[] = [];
    app = await logged(lines);
    await app.inject({ url: '/quiet' });
    expect(lines.filter((l) => l['msg'] === 'request completed')).toHaveLength(0);
  });
});
