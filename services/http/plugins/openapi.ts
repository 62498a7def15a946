import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/**
 * The OpenAPI document is generated from the same zod schemas that validate requests, so it cannot
 * drift from what the routes accept. Must be registered before the routes it documents.
 */
export const openapiPlugin = fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Duban (督办) API',
          description:
            'Listed supervision (挂牌督战): problems tracked to closure, household plans, listings, ledgers (台账) and escalation. ' +
            'Every command appends immutable events. Errors are RFC 9457 problem details with English and Chinese titles.',
          version: '1.0.0',
        },
        components: {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
        security: [{ bearer: [] }],
        tags: [
          { name: 'organisation', description: 'Units and households' },
          { name: 'households', description: 'Household plans (一户一方案)' },
          { name: 'listings', description: 'Listed supervision (挂牌督战)' },
          { name: 'problems', description: 'Problems and their rectification (整改)' },
          { name: 'ledgers', description: 'Ledgers (台账), replayable as of a past time' },
          { name: 'audit', description: 'Audit chain and live events' },
        ],
      },
      transform: jsonSchemaTransform,
      transformObject: jsonSchemaTransformObject,
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  },
  { name: 'duban-openapi', fastify: '5.x' },
);
