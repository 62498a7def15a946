import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { logSerializers } from './hardening.js';

/** A caller-supplied correlation id is kept if it is short and plain, so it cannot inject into logs. */
const acceptable = /^[A-Za-z0-9._:/-]{1,128}$/;

export function correlationIdFrom(req: IncomingMessage): string {
  const header = req.headers['x-correlation-id'];
  const value = Array.isArray(header) ? header[0] : header;
  return value && acceptable.test(value) ? value : randomUUID();
}

const asIs = (value: unknown) => value;
const accessLoggers = new WeakMap<FastifyBaseLogger, FastifyBaseLogger>();

/**
 * The logger of the access line: the server's, without redaction and with `req` and `res` written as given.
 * The line is built here from named fields only (no headers, no body, the URL with credentials replaced), so
 * there is nothing to redact, and pino's redaction (which clones every top-level value against the wildcard
 * paths) was the larger part of the line's cost.
 */
function accessLogger(base: FastifyBaseLogger): FastifyBaseLogger {
  let logger = accessLoggers.get(base);
  if (!logger) {
    logger = base.child({}, { redact: [], serializers: { req: asIs, res: asIs } });
    accessLoggers.set(base, logger);
  }
  return logger;
}

/**
 * One access line per request at info, when it is answered: the request (method, URL as the serializers
 * show it, client address), the status and the response time. Fastify's own "incoming request" line is
 * logged at debug, for following a request that never completes.
 */
class AccessLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    // The request's own logger decides the level (a route may log at warn only).
    const log = reply.log as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
    if (log.isLevelEnabled && !log.isLevelEnabled('info')) return;
    accessLogger(request.server.log).info(
      { correlationId: request.id, req: logSerializers.req(request), res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime },
      'request completed',
    );
  }
}

/**
 * Fastify options that make the request id the correlation id: taken from `X-Correlation-Id` or
 * generated, bound to every log line of the request as `correlationId`, and written into the metadata
 * of the events the request appends (and from there into the workflows they start).
 */
export const correlationIdOptions = {
  requestIdHeader: false as const,
  logController: new AccessLog({ requestIdLogLabel: 'correlationId' }),
  genReqId: correlationIdFrom,
};

/** Echoes the correlation id on every response so a caller can quote it. */
export const correlationPlugin = fp(
  async (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      void reply.header('X-Correlation-Id', request.id);
      done();
    });
  },
  { name: 'duban-correlation', fastify: '5.x' },
);

/** Log paths pino must never print: credentials and personal data that might reach a log object. */
export const logRedactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'body',
  '*.body',
  '*.name',
  '*.leader',
  '*.members',
];
