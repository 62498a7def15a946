import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { refuse } from '../../events/errors.js';
import { createTokenVerifier, signToken } from '../../services/auth/tokens.js';
import { createSqliteIdempotencyStore } from '../../infra/sqlite/idempotency.js';
import { authPlugin } from '../../services/http/plugins/auth.js';
import { correlationIdOptions, correlationPlugin } from '../../services/http/plugins/correlation.js';
import { errorsPlugin } from '../../services/http/plugins/errors.js';
import { idempotencyPlugin } from '../../services/http/plugins/idempotency.js';
import { metricsPlugin } from '../../services/http/plugins/metrics.js';
import { openapiPlugin } from '../../services/http/plugins/openapi.js';
import { createMetrics } from '../../services/metrics.js';
import { IDEMPOTENCY_CLAIM_LEASE_SECONDS } from '../../services/ports/idempotency.js';

const secret = 'edge-test-secret-with-enough-length-0123456789';

/**
 * The HTTP edge on its own (errors, correlation, auth, idempotency, metrics, OpenAPI) around two tiny
 * routes, so each behaviour is checked without the domain behind it.
 */
describe('HTTP edge', () => {
  let app: FastifyInstance;
  let dir: string;
  let token: string;
  let handlerRuns = 0;
  /** Added to the idempotency store's clock, to age claims without waiting. */
  let clockOffsetMs = 0;
  let releaseHeld: () => void = () => {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'duban-edge-'));
    app = Fastify({ logger: false, bodyLimit: 1024, ...correlationIdOptions });
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(errorsPlugin);
    await app.register(correlationPlugin);
    const verifyToken = createTokenVerifier({ algorithm: 'HS256', secret });
    await app.register(authPlugin, { verifyToken });
    await app.register(idempotencyPlugin, { store: createSqliteIdempotencyStore(join(dir, 'idem.db'), () => Date.now() + clockOffsetMs) });
    await app.register(metricsPlugin, { metrics: createMetrics(), verifyToken });
    await app.register(openapiPlugin);
    app.get('/health', async () => ({ ok: true }));
    app.post('/public/echo', { config: { public: true } }, async (request) => ({ echoed: request.body }));
    // A parameter with a pattern: only digits reach this route.
    app.get('/v1/numbered/:n(^\\d+)', async (request) => ({ n: (request.params as { n: string }).n }));
    const typed = app.withTypeProvider<ZodTypeProvider>();
    typed.post(
      '/v1/things',
      {
        schema: {
          body: z.strictObject({ name: z.string().min(1), count: z.number().int().min(0) }),
          response: { 201: z.object({ id: z.number(), name: z.string() }) },
        },
      },
      async (request, reply) => {
        handlerRuns += 1;
        if (request.body.name === 'slow') await new Promise((r) => setTimeout(r, 200));
        if (request.body.name === 'held') await new Promise<void>((r) => (releaseHeld = r));
        if (request.body.name === 'refused') throw refuse('thing.refused', 'things named refused are refused');
        if (request.body.name === 'boom') throw new Error('secret internal detail at /srv/app.ts:42');
        return reply.code(201).send({ id: handlerRuns, name: request.body.name });
      },
    );
    await app.ready();
    token = await signToken(secret, { userId: 'u1', unitId: '533400', role: 'admin' });
  });

  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });

  describe('authentication', () => {
    it('refuses a request without a token with 401 problem details and a Bearer challenge', async () => {
      const res = await app.inject({ method: 'POST', url: '/v1/things', payload: { name: 'a', count: 1 } });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['www-authenticate']).toContain('Bearer');
      expect(res.json()).toMatchObject({ type: 'https://duban.dev/problems/unauthenticated', status: 401, rule: 'auth.missing' });
      expect(res.json().title_zh).toBeTruthy();
    });

    it.each([
      ['a token signed with another secret', async () => signToken('another-secret-another-secret-0123', { userId: 'u', unitId: 'x', role: 'admin' }), 'auth.token_invalid'],
      ['an expired token', async () => signToken(secret, { userId: 'u', unitId: 'x', role: 'admin' }, { expiresIn: '-1m' }), 'auth.token_expired'],
      ['a token without role', async () => new SignJWT({ unit: 'x' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setExpirationTime('1h').sign(new TextEncoder().encode(secret)), 'auth.claims_invalid'],
      ['a token with an unknown role', async () => new SignJWT({ unit: 'x', role: 'root' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setExpirationTime('1h').sign(new TextEncoder().encode(secret)), 'auth.claims_invalid'],
      ['a token without expiry', async () => new SignJWT({ unit: 'x', role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').sign(new TextEncoder().encode(secret)), 'auth.token_invalid'],
      ['an unsigned token (alg none)', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'u', unit: 'x', role: 'admin', exp: 9e9 })).toString('base64url')}.`, 'auth.token_invalid'],
    ])('refuses %s', async (_name, make, rule) => {
      const res = await post({ name: 'a', count: 1 }, { authorization: `Bearer ${await make()}` });
      expect(res.statusCode).toBe(401);
      expect(res.json().rule).toBe(rule);
    });

    it('refuses an Authorization header that is not Bearer', async () => {
      const res = await post({ name: 'a', count: 1 }, { authorization: 'Basic dTpw' });
      expect(res.statusCode).toBe(401);
      expect(res.json().rule).toBe('auth.malformed');
    });

    it('serves /health, /openapi.json and /docs without a token, and nothing else', async () => {
      expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
      const doc = await app.inject({ url: '/openapi.json' });
      expect(doc.statusCode).toBe(200);
      expect(doc.json().paths['/v1/things'].post).toBeDefined();
      expect((await app.inject({ url: '/docs' })).statusCode).toBe(200);
      expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
      expect((await app.inject({ url: '/nowhere' })).statusCode).toBe(401);
    });
  });

  describe('errors', () => {
    it('answers an unknown field with 400 and the zod issue', async () => {
      const res = await post({ name: 'a', count: 1, admin: true });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ type: 'https://duban.dev/problems/validation', rule: 'http.body' });
      expect(res.json().issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys' })]);
    });

    it('answers a wrong type with 400 naming the field', async () => {
      const res = await post({ name: 'a', count: -1 });
      expect(res.statusCode).toBe(400);
      expect(res.json().issues[0].path).toBe('count');
    });

    it('answers malformed JSON with 400, a body over the limit with 413, and text with 415', async () => {
      expect((await post('{"name":')).statusCode).toBe(400);
      const big = await post({ name: 'x'.repeat(2000), count: 1 });
      expect(big.statusCode).toBe(413);
      expect(big.json().type).toBe('https://duban.dev/problems/too-large');
      const text = await post('hello', { 'content-type': 'text/plain' });
      expect(text.statusCode).toBe(415);
    });

    it('maps a domain refusal to 409 with its rule', async () => {
      const res = await post({ name: 'refused', count: 1 });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ rule: 'thing.refused', detail: 'things named refused are refused' });
    });

    it('hides the internals of an unexpected failure', async () => {
      const res = await post({ name: 'boom', count: 1 });
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain('secret internal detail');
      expect(res.body).not.toContain('.ts');
      expect(res.json().type).toBe('https://duban.dev/problems/internal');
    });

    it('answers an unknown route for a known caller with 404 problem details', async () => {
      const res = await app.inject({ url: '/v1/nowhere', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(404);
      expect(res.json().type).toBe('https://duban.dev/problems/route-not-found');
    });
    it.each(['TRACE', 'QUERY', 'DELETE'] as const)('answers %s on a route that has other methods with 405, Allow and problem details', async (method) => {
      const res = await app.inject({ method, url: '/v1/things', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(405);
      expect(res.headers['allow']).toBe('POST');
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ type: 'https://duban.dev/problems/method-not-allowed', status: 405, rule: 'http.method' });
    });

    it('lists every method of a path in Allow (GET brings HEAD), and keeps 404 for a path no method has', async () => {
      const res = await app.inject({ method: 'TRACE', url: '/health', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(405);
      expect(res.headers['allow']).toBe('GET, HEAD');
      const nowhere = await app.inject({ method: 'TRACE', url: '/v1/nowhere', headers: { authorization: `Bearer ${token}` } });
      expect(nowhere.statusCode).toBe(404);
      const stranger = await app.inject({ method: 'TRACE', url: '/v1/things' });
      expect(stranger.statusCode).toBe(401);
    });

    // Allow must name only methods that would find a route for this very path: the router decides, not a
    // second matcher that reads route paths its own way.
    it.each([
      ['a trailing slash the router does not ignore', '/v1/things/', 'POST'],
      ['a parameter outside its pattern', '/v1/numbered/abc', 'GET'],
    ])('answers 404, not 405, for %s', async (_what, url, method) => {
      const routed = await app.inject({ method: method as 'GET' | 'POST', url, headers: { authorization: `Bearer ${token}` } });
      expect(routed.statusCode).toBe(404);
      const res = await app.inject({ method: 'TRACE', url, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(404);
      expect(res.headers['allow']).toBeUndefined();
    });

    it('answers 405 with Allow for a parameter inside its pattern, and a clear 400 for a malformed escape', async () => {
      const res = await app.inject({ method: 'DELETE', url: '/v1/numbered/42?x=1', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(405);
      expect(res.headers['allow']).toBe('GET, HEAD');
      const bad = await app.inject({ method: 'DELETE', url: '/v1/nowhere/%E0%A4%A', headers: { authorization: `Bearer ${token}` } });
      expect(bad.statusCode).toBe(400);
    });
  });

  describe('correlation', () => {
    it('keeps a plain X-Correlation-Id and echoes it, and generates one otherwise', async () => {
      const kept = await post({ name: 'c', count: 1 }, { 'x-correlation-id': 'inspection-2020-06-30' });
      expect(kept.headers['x-correlation-id']).toBe('inspection-2020-06-30');
      const made = await post({ name: 'c', count: 1 }, { 'x-correlation-id': 'bad id\twith tab' });
      expect(made.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('idempotency', () => {
    it('repeats the original response for the same key and body without running the handler again', async () => {
      const first = await post({ name: 'once', count: 1 }, { 'idempotency-key': 'k-1' });
      const runs = handlerRuns;
      const second = await post({ count: 1, name: 'once' }, { 'idempotency-key': 'k-1' });
      expect(second.statusCode).toBe(201);
      expect(second.body).toBe(first.body);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(handlerRuns).toBe(runs);
    });

    it('refuses the same key with another body with 422', async () => {
      await post({ name: 'one', count: 1 }, { 'idempotency-key': 'k-2' });
      const runs = handlerRuns;
      const res = await post({ name: 'two', count: 1 }, { 'idempotency-key': 'k-2' });
      expect(res.statusCode).toBe(422);
      expect(res.json().rule).toBe('http.idempotency_key_reused');
      expect(handlerRuns).toBe(runs);
    });

    it('tells a repeat that arrives while the first is running to retry (409)', async () => {
      const [a, b] = await Promise.all([
        post({ name: 'slow', count: 1 }, { 'idempotency-key': 'k-3' }),
        new Promise((r) => setTimeout(r, 50)).then(() => post({ name: 'slow', count: 1 }, { 'idempotency-key': 'k-3' })),
      ]);
      expect(a.statusCode).toBe(201);
      expect(b.statusCode).toBe(409);
      expect(b.json().rule).toBe('http.idempotency_in_progress');
    });

    it('lets a retry run again after a 5xx, and scopes keys per user', async () => {
      const failed = await post({ name: 'boom', count: 1 }, { 'idempotency-key': 'k-4' });
      expect(failed.statusCode).toBe(500);
      const runs = handlerRuns;
      await post({ name: 'boom', count: 1 }, { 'idempotency-key': 'k-4' });
      expect(handlerRuns).toBe(runs + 1);

      const other = await signToken(secret, { userId: 'u2', unitId: '533400', role: 'admin' });
      await post({ name: 'mine', count: 1 }, { 'idempotency-key': 'k-5' });
      const theirs = await post({ name: 'theirs', count: 1 }, { 'idempotency-key': 'k-5', authorization: `Bearer ${other}` });
      expect(theirs.statusCode).toBe(201);
    });

    it('ignores a key on a public route (no caller to scope it to) instead of failing', async () => {
      const res = await app.inject({ method: 'POST', url: '/public/echo', payload: { a: 1 }, headers: { 'idempotency-key': 'k-public' } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ echoed: { a: 1 } });
    });

    it("keeps a running request's claim by renewing its lease, and lets a retry take over a claim nobody renews", async () => {
      const lease = IDEMPOTENCY_CLAIM_LEASE_SECONDS * 1000;
      const runs = handlerRuns;
      const held = post({ name: 'held', count: 1 }, { 'idempotency-key': 'k-held' });
      await vi.waitFor(() => expect(handlerRuns).toBeGreaterThan(runs));
      // Past a lease in all, but renewed in between: still the running request's.
      clockOffsetMs += lease - 1000;
      await new Promise((r) => setTimeout(r, lease / 3 + 500));
      clockOffsetMs += lease - 1000;
      const during = await post({ name: 'held', count: 1 }, { 'idempotency-key': 'k-held' });
      expect(during.statusCode).toBe(409);
      releaseHeld();
      expect((await held).statusCode).toBe(201);

      // A claim whose holder stopped renewing (its process was killed): taken over after one lease.
      const store = createSqliteIdempotencyStore(join(dir, 'idem.db'), () => Date.now() + clockOffsetMs);
      const key = createHash('sha256').update('u1\nk-dead').digest('hex');
      await store.claim(key, 'fingerprint-of-the-dead');
      await store.close();
      clockOffsetMs += lease + 1000;
      const retried = await post({ name: 'after-dead', count: 1 }, { 'idempotency-key': 'k-dead' });
      expect(retried.statusCode).toBe(201);
    });

    it('refuses a malformed key with 400', async () => {
      const res = await post({ name: 'a', count: 1 }, { 'idempotency-key': 'x'.repeat(300) });
      expect(res.statusCode).toBe(400);
      expect(res.json().rule).toBe('http.idempotency_key');
    });
  });

  it('counts requests by route pattern at /metrics', async () => {
    const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/duban_http_requests_total\{method="POST",route="\/v1\/things",status="201"\} \d+/);
  });
});
