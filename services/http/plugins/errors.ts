import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { DubanError } from '../../../events/errors.js';
import type { DependencyUnavailableError } from '../../ports/unavailable.js';
import { problem, problemFromDubanError, type ProblemDetails, type ProblemKind } from '../problem-details.js';

const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

export function sendProblem(request: FastifyRequest, reply: FastifyReply, details: ProblemDetails) {
  const body: ProblemDetails = { ...details, instance: request.url.split('?')[0], correlationId: request.id };
  return reply.code(body.status).type(PROBLEM_JSON).serializer(JSON.stringify).send(body);
}

/** Fastify's own error codes for malformed requests, mapped to our problem types. */
const fastifyCodes: Record<string, { kind: ProblemKind; rule: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { kind: 'too_large', rule: 'http.body_limit' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { kind: 'unsupported_media_type', rule: 'http.content_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { kind: 'validation', rule: 'http.content_length' },
  FST_ERR_CTP_INVALID_JSON_BODY: { kind: 'validation', rule: 'http.json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { kind: 'validation', rule: 'http.json' },
  FST_ERR_CTP_INVALID_CONTENT_TYPE: { kind: 'unsupported_media_type', rule: 'http.content_type' },
};

/**
 * Errors fastify raises before a request reaches any hook (a malformed or overlong URL). Passed as the
 * `frameworkErrors` option when the instance is created.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendProblem(request, reply, problem('uri_too_long', { detail: 'a path segment is too long', rule: 'http.url' }));
  }
  return sendProblem(request, reply, problem('validation', { detail: 'the URL is not valid', rule: 'http.url' }));
}

const kindByStatus: Record<number, ProblemKind> = {
  400: 'validation',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'route_not_found',
  405: 'method_not_allowed',
  413: 'too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** The zod issue path ("/members/0") read back as a dotted path ("members.0"). */
const issuePath = (instancePath: string) => instancePath.replace(/^\//, '').replaceAll('/', '.');

/**
 * One handler at the edge turns every failure into RFC 9457 problem details. Only DubanErrors and
 * fastify's request errors say what went wrong; anything else is a 500 whose details stay in the log.
 */
export const errorsPlugin = fp(
  async (app) => {
    // The API speaks JSON only; a text body would otherwise reach the schemas as a string.
    app.removeContentTypeParser('text/plain');

    app.setErrorHandler((err: FastifyError, request, reply) => {
      if (hasZodFastifySchemaValidationErrors(err)) {
        const where = err.validationContext ?? 'request';
        return sendProblem(
          request,
          reply,
          problem('validation', {
            detail: `the ${where} does not match the schema`,
            rule: `http.${where}`,
            issues: err.validation.map((v) => ({
              path: issuePath(v.instancePath),
              code: v.keyword,
              message: v.message ?? 'invalid',
            })),
          }),
        );
      }
      if (err instanceof DubanError) {
        if (err.code === 'unauthenticated' || err.code === 'forbidden') {
          request.log.info({ rule: err.rule }, 'request refused');
        }
        // A 404 that hides an id outside the caller's subtree: only the log tells it from an unknown id.
        if (typeof err.details?.concealed === 'string') {
          request.log.info({ rule: err.rule, concealed: err.details.concealed }, 'request refused');
        }
        return sendProblem(request, reply, problemFromDubanError(err));
      }
      if (isResponseSerializationError(err)) {
        request.log.error({ issues: err.cause.issues, route: request.routeOptions.url }, 'response does not match its schema');
        return sendProblem(request, reply, problem('internal', { detail: 'the server failed; the failure is logged' }));
      }
      const known = err.code ? fastifyCodes[err.code] : undefined;
      if (known) return sendProblem(request, reply, problem(known.kind, { detail: err.message, rule: known.rule }));
      const status = err.statusCode ?? 500;
      const kind = kindByStatus[status];
      if (status < 500 && kind) return sendProblem(request, reply, problem(kind, { detail: err.message }));
      if (status === 503) {
        const down = err as Partial<DependencyUnavailableError>;
        request.log.warn({ err, dependency: down.dependency }, 'dependency unavailable');
        reply.header('retry-after', String(down.retryAfterSeconds ?? 5));
        const detail = down.dependency ? `${down.dependency} is not available; retry later` : 'a dependency is not available';
        return sendProblem(request, reply, problem('unavailable', { detail }));
      }
      request.log.error({ err }, 'request failed');
      return sendProblem(request, reply, problem('internal', { detail: 'the server failed; the failure is logged' }));
    });

    // The methods some route answers; fastify's router says which of them match a given path, so a 405 and
    // its `Allow` header (RFC 9110 §15.5.6) name exactly the methods that would find a route, and there is one
    // way to match paths.
    const methods = new Set<string>();
    app.addHook('onRoute', (route) => {
      for (const m of typeof route.method === 'string' ? [route.method] : route.method) methods.add(m.toUpperCase());
    });
    const allowedFor = (url: string): string[] => {
      const path = url.split('?')[0] ?? '';
      return [...methods].filter((method) => app.findRoute({ method: method as HTTPMethods, url: path }) !== null).sort();
    };
    const methodNotAllowed = (request: FastifyRequest, reply: FastifyReply, allowed: string[]) => {
      reply.header('allow', allowed.join(', '));
      return sendProblem(request, reply, problem('method_not_allowed', { detail: `${request.method} is not a method of ${request.url.split('?')[0]}; use ${allowed.join(', ')}`, rule: 'http.method' }));
    };
    // Before the body is parsed (after authentication): a method with no route here must not get as far as
    // a content-type check (QUERY without a body answered 400).
    app.addHook('preParsing', (request, reply, payload, done) => {
      // Every request that found its route answers here without a promise.
      if (!request.is404) {
        done(null, payload);
        return;
      }
      const allowed = allowedFor(request.url);
      if (allowed.length === 0) {
        done(null, payload);
        return;
      }
      methodNotAllowed(request, reply, allowed).then(() => done(null, payload), done);
    });
    app.setNotFoundHandler((request, reply) => {
      const allowed = allowedFor(request.url);
      if (allowed.length > 0) return methodNotAllowed(request, reply, allowed);
      return sendProblem(request, reply, problem('route_not_found', { detail: `no route ${request.method} ${request.url.split('?')[0]}`, rule: 'http.route' }));
    });
  },
  { name: 'duban-errors', fastify: '5.x' },
);
