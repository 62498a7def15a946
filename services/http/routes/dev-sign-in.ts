import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idSchema } from '../../../events/common.js';
import { notFound } from '../../../events/errors.js';
import { unitRegisteredSchema } from '../../../events/unit/index.js';
import { roleSchema } from '../../auth/principal.js';
import { signToken } from '../../auth/tokens.js';
import { commandErrorResponses, errorResponses } from '../problem-details.js';

export interface DevSignInOptions {
  /** The HS256 secret the service verifies tokens with. */
  secret: string;
}

const TOKEN_LIFETIME = '12h';

/**
 * The sign-in exists only outside production and only where the service signs its own tokens (HS256): with
 * `NODE_ENV=production` or tokens from an identity provider (`JWT_PUBLIC_KEY`) there is no such route.
 */
export function devSignInFor(config: { nodeEnv: string; jwtPublicKey?: string | undefined; jwtSecret?: string | undefined }): DevSignInOptions | undefined {
  if (config.nodeEnv === 'production' || config.jwtPublicKey || !config.jwtSecret) return undefined;
  return { secret: config.jwtSecret };
}

/**
 * Development-only sign-in for the console: pick a registered unit and a role, get the token that
 * `npm run token` would print. Registered only outside production (services/main.ts), so a production
 * service has no route that hands out tokens.
 */
export const devSignInRoutes: FastifyPluginAsyncZod<DevSignInOptions> = async (app, options) => {
  const { store, hierarchy } = app.duban;
  const tags = ['development'];

  app.get(
    '/dev/units',
    {
      config: { public: true },
      schema: {
        operationId: 'listDevUnits',
        summary: 'Development only: every registered unit, for the console sign-in page',
        tags,
        security: [],
        response: {
          200: z.object({ items: z.array(unitRegisteredSchema) }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const items = [];
      for await (const event of store.readAll({ filter: { streamPrefixes: ['unit-'] } })) {
        const unit = event.type === 'UnitRegistered' ? unitRegisteredSchema.safeParse(event.data) : undefined;
        if (unit?.success) items.push(unit.data);
      }
      return { items };
    },
  );

  app.post(
    '/dev/sign-in',
    {
      config: { public: true },
      schema: {
        operationId: 'devSignIn',
        summary: 'Development only: a bearer token for a user of a registered unit in a role',
        tags,
        security: [],
        body: z
          .strictObject({
            unitId: idSchema,
            role: roleSchema,
            userId: z.string().min(1).max(200).optional().describe('Default: <role>@<unitId>'),
          })
          .meta({ examples: [{ unitId: '533423102201', role: 'cadre' }] }),
        response: { 200: z.object({ token: z.string(), expiresIn: z.string() }), ...commandErrorResponses },
      },
    },
    async (request) => {
      const { unitId, role } = request.body;
      await hierarchy.ensure([unitId]);
      if (!hierarchy.view.get(unitId)) throw notFound('unit.not_found', `unit ${unitId} is not registered`, { unitId });
      const userId = request.body.userId ?? `${role}@${unitId}`;
      const token = await signToken(options.secret, { userId, unitId, role }, { expiresIn: TOKEN_LIFETIME });
      return { token, expiresIn: TOKEN_LIFETIME };
    },
  );
};
