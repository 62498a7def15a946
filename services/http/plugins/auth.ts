import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
  // One routeOptions per request: fastify builds a new object on every read.
  const { url, config } = request.routeOptions;
  if (config.public === true) return true;
  return url === '/health' || url === '/openapi.json' || url === '/docs' || (url?.startsWith('/docs/') ?? false);
};

const challenge = (reply: FastifyReply) => void reply.header('WWW-Authenticate', 'Bearer realm="duban"');

/**
 * Every request needs a valid bearer token unless its route is public. Runs on onRequest, before the
 * body is read, so an unauthenticated caller never gets as far as validation or a handler. Unknown
 * routes are not public either: they answer 401 to strangers and 404 to known callers. A token the
 * verifier already checked (and that has not expired) is answered without a promise.
 */
export const authPlugin = fp<AuthOptions>(
  async (app, options) => {
    const { verifyToken } = options;
    app.decorateRequest('principal', null as unknown as Principal);
    app.addHook('onRequest', (request, reply, done) => {
      if (isPublic(request)) {
        done();
        return;
      }
      let token: string;
      try {
        token = bearerToken(request.headers.authorization);
      } catch (err) {
        challenge(reply);
        done(err as Error);
        return;
      }
      const known = verifyToken.known(token);
      if (known) {
        request.principal = known;
        done();
        return;
      }
      verifyToken(token).then(
        (principal) => {
          request.principal = principal;
          done();
        },
        (err: unknown) => {
          challenge(reply);
          done(err as Error);
        },
      );
    });
  },
  { name: 'duban-auth', fastify: '5.x', dependencies: ['duban-errors'] },
);
