import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.js';
import { bearerToken, type VerifyToken } from '../../auth/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller. Set by the auth hook on every route that is not public. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (only /health, /openapi.json and /docs). */
    public?: boolean;
  }
}

export interface AuthOptions {
  verifyToken: VerifyToken;
}

/** Route patterns served without a token. Swagger UI's own routes cannot carry our config flag. */
const isPublic = (request: FastifyRequest): boolean => {
  const url = request.routeOptions.url;
  if (request.routeOptions.config.public === true) return true;
  return url === '/health' || url === '/openapi.json' || url === '/docs' || (url?.startsWith('/docs/') ?? false);
};

/**
 * Every request needs a valid bearer token unless its route is public. Runs on onRequest, before the
 * body is read, so an unauthenticated caller never gets as far as validation or a handler. Unknown
 * routes are not public either: they answer 401 to strangers and 404 to known callers.
 */
export const authPlugin = fp<AuthOptions>(
  async (app, options) => {
    app.decorateRequest('principal', null as unknown as Principal);
    app.addHook('onRequest', async (request, reply) => {
      if (isPublic(request)) return;
      try {
        request.principal = await options.verifyToken(bearerToken(request.headers.authorization));
      } catch (err) {
        void reply.header('WWW-Authenticate', 'Bearer realm="duban"');
        throw err;
      }
    });
  },
  { name: 'duban-auth', fastify: '5.x', dependencies: ['duban-errors'] },
);
