import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { invalid } from '../../../events/errors.js';
import { problem } from '../problem-details.js';

const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

/** Query parameters that carry credentials in other APIs; ours never accepts them, and logs never show them. */
const credentialParams = new Set(['access_token', 'token', 'jwt', 'id_token', 'bearer', 'authorization', 'api_key']);

const credentialsIn = (url: string): string[] => {
  const query = url.indexOf('?');
  if (query < 0) return [];
  return [...new URLSearchParams(url.slice(query + 1)).keys()].filter((name) => credentialParams.has(name.toLowerCase()));
};

/** The URL as logs may show it: credential parameters' values replaced. */
export function redactUrl(url: string): string {
  if (credentialsIn(url).length === 0) return url;
  const query = url.indexOf('?');
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of [...params.keys()]) if (credentialParams.has(name.toLowerCase())) params.set(name, '[REDACTED]');
  return `${url.slice(0, query)}?${params.toString()}`;
}

/** pino serializers for the service's logger: fastify's request fields, with the URL redacted. */
export const logSerializers = {
  req(request: FastifyRequest) {
    return {
      method: request.method,
      url: redactUrl(request.url),
      host: request.host,
      remoteAddress: request.ip,
      remotePort: request.socket?.remotePort,
    };
  },
};

/**
 * Errors Node's HTTP parser raises before fastify sees a request (headers or URL over the 16 KiB limit: 431;
 * a malformed request line: 400), answered as problem details too. Fastify's `clientErrorHandler` option.
 */
export function clientErrorAsProblem(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const details =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? problem('headers_too_large', { detail: 'the request line and headers must stay under 16 KiB', rule: 'http.header_size' })
      : problem('validation', { detail: 'the request is not valid HTTP', rule: 'http.parse' });
  const body = JSON.stringify(details);
  socket.end(
    `HTTP/1.1 ${details.status} ${STATUS_CODES[details.status]}\r\nContent-Type: ${PROBLEM_JSON}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The headers helmet sets with these options, asked of @fastify/helmet once on a probe instance: without
 * CSP nonces they never depend on the request, and @fastify/helmet would build helmet's middleware (and
 * parse the CSP) again on every request.
 */
async function helmetHeaders(options: FastifyHelmetOptions): Promise<[string, string][]> {
  const probe = Fastify({ logger: false });
  await probe.register(helmet, options);
  probe.get('/with', async () => '');
  probe.get('/without', { helmet: false }, async () => '');
  const [withHelmet, without] = [await probe.inject('/with'), await probe.inject('/without')];
  await probe.close();
  return Object.entries(withHelmet.headers)
    .filter(([name]) => without.headers[name] === undefined)
    .map(([name, value]) => [name, String(value)]);
}

export interface HardeningOptions {
  /** Event-loop delay beyond which requests are shed with 503 + Retry-After; 0 disables. */
  maxEventLoopDelayMs: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A page a browser renders or its scripts and styles (the console, Swagger UI): helmet's full set of headers. */
    document?: boolean;
  }
}

/**
 * What a JSON answer needs, as OWASP's REST Security cheat sheet lists it: nothing it names may load or
 * frame it, no sniffing, no referrer, HSTS. helmet's other headers (and a CSP written for HTML) only
 * govern pages a browser renders, and cost every answer about 700 bytes.
 */
const apiSecurityHeaders: readonly [string, string][] = [
  ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', 'max-age=31536000; includeSubDomains'],
  // Routes that may be cached (static files) set their own, which replaces this one.
  ['cache-control', 'no-store'],
];

/**
 * What every response of every role carries, and what every request is checked for before anything else:
 * API answers get the REST set above; documents (the console and Swagger UI) get helmet's full set with a
 * CSP that fits them (scripts from this origin only). `Cache-Control: no-store` unless a route set its own
 * (static files), no credentials in URLs, and load shedding while the event loop is saturated.
 */
export const hardeningPlugin = fp<HardeningOptions>(
  async (app, options) => {
    const documentHeaders = await helmetHeaders({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          scriptSrcAttr: ["'none'"],
          // Swagger UI and Ant Design (CSS-in-JS) set styles inline.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
    });
    documentHeaders.push(['cache-control', 'no-store']);
    app.addHook('onRequest', (request, reply, done) => {
      // On the raw response, as helmet does, so hijacked replies (event streams) carry them too; a header the
      // route sets through the reply (or a static file's own Cache-Control) replaces the raw one.
      const headers = request.routeOptions.config.document === true ? documentHeaders : apiSecurityHeaders;
      for (const [name, value] of headers) reply.raw.setHeader(name, value);
      const found = credentialsIn(request.url);
      if (found.length > 0) {
        done(invalid('auth.token_in_url', `credentials are never accepted in the URL (${found.join(', ')}): send Authorization: Bearer <token>`));
        return;
      }
      done();
    });
    if (options.maxEventLoopDelayMs > 0) {
      const retryAfter = 5;
      await app.register(underPressure, {
        maxEventLoopDelay: options.maxEventLoopDelayMs,
        retryAfter,
        // under-pressure sends what the handler returns (its types say void): our problem details.
        pressureHandler: ((request: FastifyRequest, reply: FastifyReply) => {
          void reply.code(503).header('Retry-After', String(retryAfter)).type(PROBLEM_JSON).serializer(JSON.stringify);
          const details = problem('unavailable', { detail: 'the server is overloaded; retry after the Retry-After delay', rule: 'http.load_shedding' });
          return { ...details, instance: request.url.split('?')[0], correlationId: request.id };
        }) as unknown as (request: FastifyRequest, reply: FastifyReply) => void,
      });
    }
  },
  { name: 'duban-hardening', fastify: '5.x', dependencies: ['duban-errors'] },
);

export interface RateLimitOptions {
  /** Requests per user (or per client address before authentication) per minute. */
  perMinute: number;
  /** The process's Redis client: counters shared by several API processes; without it each counts alone. */
  redis?: RateLimitPluginOptions['redis'] | undefined;
}

/**
 * Rate limit per user, counted after authentication (preHandler) so the key is the verified user, not
 * whatever a client claims; 429 problem details with Retry-After. A counter store that fails lets the
 * request through rather than answering 500.
 */
export const rateLimitPlugin = fp<RateLimitOptions>(
  async (app, options) => {
    await app.register(rateLimit, {
      global: true,
      hook: 'preHandler',
      max: options.perMinute,
      timeWindow: 60_000,
      skipOnError: true,
      ...(options.redis ? { redis: options.redis, nameSpace: 'duban:rate-limit:' } : {}),
      keyGenerator: (request) => (request.principal ? `user:${request.principal.userId}` : `ip:${request.ip}`),
      errorResponseBuilder: (_request, context) =>
        Object.assign(new Error(`more than ${context.max} requests in a minute; retry in ${context.after}`), { statusCode: 429 }),
    });
  },
  { name: 'duban-rate-limit', fastify: '5.x', dependencies: ['duban-auth'] },
);
