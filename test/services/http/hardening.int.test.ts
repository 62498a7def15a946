import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';

import { repoRoot } from '../../../infra/tools/paths.js';
import { createTokenVerifier, signToken } from '../../../services/auth/tokens.js';
import { loadConfig } from '../../../services/config.js';
import { buildApp } from '../../../services/http/app.js';
import { authPlugin } from '../../../services/http/plugins/auth.js';
import { correlationPlugin } from '../../../services/http/plugins/correlation.js';
import { errorsPlugin } from '../../../services/http/plugins/errors.js';
import { hardeningPlugin, logSerializers, rateLimitPlugin } from '../../../services/http/plugins/hardening.js';
import { openapiPlugin } from '../../../services/http/plugins/openapi.js';
import { createSqliteIdempotencyStore } from '../../../infra/sqlite/idempotency.js';
import { openEventStore, prepareDataDir } from '../../../services/stores.js';
import { requireService } from '../../setup/services.js';

const secret = 'hardening-test-secret-with-enough-length-01';
const verifyToken = createTokenVerifier({ algorithm: 'HS256', secret });
const redisUrl = requireService('redis');
const tokenOf = (userId: string) => signToken(secret, { userId, unitId: '533400', role: 'inspector' });

/** The edge as the service assembles it, around one route, logging into `lines`. */
async function edge(
  options: { lines?: string[]; perMinute?: number; redis?: Redis; maxEventLoopDelayMs?: number; trustProxy?: boolean; consoleDir?: string } = {},
) {
  const lines = options.lines ?? [];
  const logger = pino(
    { level: 'info', serializers: logSerializers },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const app = await buildApp({
    health: [],
    logger,
    ...(options.trustProxy ? { trustProxy: true } : {}),
    ...(options.consoleDir ? { consoleDir: options.consoleDir } : {}),
  });
  await app.register(errorsPlugin);
  await app.register(correlationPlugin);
  await app.register(hardeningPlugin, { maxEventLoopDelayMs: options.maxEventLoopDelayMs ?? 0 });
  await app.register(authPlugin, { verifyToken });
  if (options.perMinute) await app.register(rateLimitPlugin, { perMinute: options.perMinute, redis: options.redis });
  app.get('/v1/whoami', async (request) => ({ userId: request.principal.userId, ip: request.ip }));
  return app;
}

/** The response headers that govern what a browser may do with it: helmet's and OWASP's, and Cache-Control. */
const securityHeaderNames = new Set([
  'content-security-policy',
  'cross-origin-embedder-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
  'permissions-policy',
  'cache-control',
]);
const securityHeadersOf = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => securityHeaderNames.has(name)));

describe('the HTTP edge, hardened', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  test('a token in the URL is refused with 400 problem details, and never reaches the log', async () => {
    const lines: string[] = [];
    app = await edge({ lines });
    const token = await tokenOf('inspector@533400');

    const response = await app.inject({ method: 'GET', url: `/v1/whoami?unitId=533400&access_token=${token}` });

    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ rule: 'auth.token_in_url', instance: '/v1/whoami' });
    const log = lines.join('');
    expect(log).toContain('access_token=%5BREDACTED%5D');
    expect(log).toContain('unitId=533400');
    expect(log).not.toContain(token);
  });

  test("JSON answers carry OWASP's REST set of headers and none of helmet's others, errors and unknown routes included", async () => {
    app = await edge();
    const token = await tokenOf('inspector@533400');

    for (const [url, status] of [['/v1/whoami', 200], ['/health', 200], ['/no-such-route', 404], ['/v1/whoami?access_token=x', 400]] as const) {
      const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode, url).toBe(status);
      expect(securityHeadersOf(response.headers), url).toEqual({
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'strict-transport-security': 'max-age=31536000; includeSubDomains',
        'cache-control': 'no-store',
      });
    }
    const unauthenticated = await app.inject({ method: 'GET', url: '/v1/whoami' });
    expect(unauthenticated.statusCode).toBe(401);
    expect(unauthenticated.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  test("the console's page and scripts and Swagger UI keep helmet's full set, with a CSP that lets them run scripts from this origin", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'duban-console-'));
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>');
    await writeFile(path.join(dir, 'assets', 'app.js'), 'export {};');
    app = await edge({ consoleDir: dir });
    await app.register(openapiPlugin);
    try {
      for (const url of ['/', '/assets/app.js', '/docs', '/docs/static/swagger-ui.css']) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode, url).toBe(200);
        const { 'cache-control': _cache, ...headers } = securityHeadersOf(response.headers);
        expect(headers, url).toEqual({
          'content-security-policy':
            "default-src 'self';script-src 'self';script-src-attr 'none';style-src 'self' 'unsafe-inline';img-src 'self' data:;" +
            "font-src 'self' data:;connect-src 'self';object-src 'none';base-uri 'self';form-action 'self';frame-ancestors 'none'",
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-resource-policy': 'same-origin',
          'origin-agent-cluster': '?1',
          'referrer-policy': 'no-referrer',
          'strict-transport-security': 'max-age=31536000; includeSubDomains',
          'x-content-type-options': 'nosniff',
          'x-dns-prefetch-control': 'off',
          'x-download-options': 'noopen',
          'x-frame-options': 'SAMEORIGIN',
          'x-permitted-cross-domain-policies': 'none',
          'x-xss-protection': '0',
        });
      }
      expect((await app.inject('/docs')).headers['cache-control']).toBe('no-store');
      // The console's page is always revalidated; its hashed assets never change content.
      expect((await app.inject('/')).headers['cache-control']).toBe('no-cache');
      expect((await app.inject('/assets/app.js')).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test.skipIf(!redisUrl)('rate limit per user, shared through Redis by two API processes: the extra request is 429 problem details', async () => {
    const redis = new Redis(redisUrl!);
    const other = new Redis(redisUrl!);
    const second = await edge({ perMinute: 3, redis: other });
    app = await edge({ perMinute: 3, redis });
    try {
      const user = `inspector-${Date.now()}@533400`;
      const headers = { authorization: `Bearer ${await tokenOf(user)}` };
      const statuses = [];
      for (const instance of [app, second, app]) statuses.push((await instance.inject({ url: '/v1/whoami', headers })).statusCode);
      expect(statuses).toEqual([200, 200, 200]);

      const limited = await second.inject({ url: '/v1/whoami', headers });
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.json()).toMatchObject({ status: 429, type: 'https://duban.dev/problems/too-many-requests' });

      const someoneElse = { authorization: `Bearer ${await tokenOf(`cadre-${Date.now()}@533400`)}` };
      expect((await app.inject({ url: '/v1/whoami', headers: someoneElse })).statusCode).toBe(200);
    } finally {
      await second.close();
      redis.disconnect();
      other.disconnect();
    }
  });

  test('while the event loop is saturated, requests are shed with 503 problem details and Retry-After', async () => {
    app = await edge({ maxEventLoopDelayMs: 50 });
    const headers = { authorization: `Bearer ${await tokenOf('inspector@533400')}` };
    let response = await app.inject({ url: '/v1/whoami', headers });
    for (let i = 0; i < 20 && response.statusCode !== 503; i++) {
      const until = Date.now() + 400;
      while (Date.now() < until) {
        // busy: the event loop cannot turn
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      response = await app.inject({ url: '/v1/whoami', headers });
    }
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toMatchObject({ status: 503, rule: 'http.load_shedding' });
  });

  test('headers or a query string over 16 KiB (10,000 parameters) answer 431 problem details, not a bare status line', async () => {
    app = await edge();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as net.AddressInfo).port;
    const query = Array.from({ length: 10_000 }, (_, i) => `p${i}=1`).join('&');

    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(`GET /v1/whoami?${query} HTTP/1.1\r\nHost: x\r\n\r\n`));
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });

    expect(raw).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(raw).toMatch(/Content-Type: application\/problem\+json/);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 431, type: 'https://duban.dev/problems/headers-too-large' });
  });

  test('TRUST_PROXY=true takes the client address from X-Forwarded-For; by default the socket address counts', async () => {
    const headers = { authorization: `Bearer ${await tokenOf('inspector@533400')}`, 'x-forwarded-for': '203.0.113.7' };
    app = await edge({ trustProxy: true });
    expect((await app.inject({ url: '/v1/whoami', headers })).json()).toMatchObject({ ip: '203.0.113.7' });
    await app.close();
    app = await edge();
    expect((await app.inject({ url: '/v1/whoami', headers })).json()).toMatchObject({ ip: '127.0.0.1' });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,192.168.1.1' }).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.1']);
    expect(() => loadConfig({ TRUST_PROXY: 'sometimes' })).toThrow(/TRUST_PROXY/);
  });
});

describe('data files', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'duban-modes-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('are 600 in a 700 folder: the event store, idempotency records, and what an older version left behind', async () => {
    const mode = async (file: string) => (await stat(path.join(dataDir, file))).mode & 0o777;
    await writeFile(path.join(dataDir, 'dev-jwt-secret'), 'x'.repeat(40), { mode: 0o644 });
    const previous = process.umask();
    try {
      await prepareDataDir(dataDir);
      const store = await openEventStore(loadConfig({ DATA_DIR: dataDir }));
      const idempotency = createSqliteIdempotencyStore(path.join(dataDir, 'idempotency.db'));
      await store.close();
      await idempotency.close();
    } finally {
      process.umask(previous);
    }

    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    for (const file of ['dev-jwt-secret', 'events.db', 'idempotency.db']) expect(await mode(file), file).toBe(0o600);
  });
});

describe('shutdown', () => {
  test('when closing hangs, the process exits 1 after SHUTDOWN_TIMEOUT_MS instead of waiting for SIGKILL', async () => {
    const script = `
      import { pino } from 'pino';
      import { Running } from './services/lifecycle.ts';
      const running = new Running(pino({ level: 'silent' }));
      running.add('a peer that never answers', () => new Promise(() => {}));
      running.closeOnSignals(500);
      setInterval(() => {}, 1000);
      console.log('ready');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const started = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
